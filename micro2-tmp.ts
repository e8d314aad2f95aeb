import { fromBinary } from "@bufbuild/protobuf";
import { corpusEvents, DEFAULT_CORPUS } from "./kit/corpus.ts";
import { EventSchema } from "./gen/chaukas/spec/common/v1/events_pb.ts";
import { toEventRecord } from "./src/core/event-record.ts";
import { compileRedaction, mayApply, redactEvent } from "./src/core/redaction/redactor.ts";
import { checkedRules, effectiveRules } from "./src/core/redaction/rules.ts";
const ON = { detectors: { email: "hash", phone: "mask", card_number: "mask", iban: "drop" }, fields: [{ path: "metadata.user_email", method: "hash" }, { path: "content.arguments.password", method: "drop" }] };
const on = compileRedaction(effectiveRules(checkedRules(ON), "p"), { saltId: "s", secret: new Uint8Array(32) });
const events = corpusEvents({ ...DEFAULT_CORPUS, seed: 42, expectedEvents: 20000 }, 20000);
const hits = events.map(toEventRecord).filter((r) => mayApply(on, r.payload)).map((r) => r.payload);
for (let round = 0; round < 3; round++) {
  let t = process.cpuUsage(); const decoded = hits.map((p) => fromBinary(EventSchema, p)); let d = process.cpuUsage(t);
  const dec = (d.user + d.system) / hits.length;
  t = process.cpuUsage(); for (const e of decoded) redactEvent(on, e); d = process.cpuUsage(t);
  const walk = (d.user + d.system) / hits.length;
  t = process.cpuUsage(); for (const e of decoded) toEventRecord(e); d = process.cpuUsage(t);
  console.log(`${hits.length} hits: decode ${dec.toFixed(1)} µs, walk ${walk.toFixed(1)} µs, record again ${((d.user + d.system) / hits.length).toFixed(1)} µs`);
}
