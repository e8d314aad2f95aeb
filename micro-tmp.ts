import { corpusEvents, DEFAULT_CORPUS } from "./kit/corpus.ts";
import { toEventRecord } from "./src/core/event-record.ts";
import { redactedRecord } from "./src/core/redaction/redacted-record.ts";
import { compileRedaction, mayApply } from "./src/core/redaction/redactor.ts";
import { checkedRules, effectiveRules } from "./src/core/redaction/rules.ts";
const events = corpusEvents({ ...DEFAULT_CORPUS, seed: 42, expectedEvents: 20000 }, 20000);
const OFF = { detectors: Object.fromEntries(["private_key","jwt","aws_access_key","api_key","card_number","iban","email","phone"].map(d=>[d,"off"])) };
const ON = { detectors: { email: "hash", phone: "mask", card_number: "mask", iban: "drop" }, fields: [{ path: "metadata.user_email", method: "hash" }, { path: "content.arguments.password", method: "drop" }] };
const key = { saltId: "s", secret: new Uint8Array(32) };
const off = compileRedaction(effectiveRules(checkedRules(OFF), "p"), key);
const on = compileRedaction(effectiveRules(checkedRules(ON), "p"), key);
const def = compileRedaction(effectiveRules(checkedRules({}), "p"), key);
const records = events.map(toEventRecord);
console.log("decoded with realistic rules:", records.filter((r) => mayApply(on, r.payload)).length, "of", records.length);
let changed = 0;
function run(r: typeof on) { const t = process.cpuUsage(); for (const e of events) { const rec = toEventRecord(e); if (redactedRecord(r, rec) !== rec) changed++; } const d = process.cpuUsage(t); return (d.user + d.system) / events.length; }
for (let i = 0; i < 3; i++) { changed = 0; const a = run(off); changed = 0; const b = run(on); const cb = changed; changed=0; const c = run(def); console.log(`record, rules off: ${a.toFixed(1)} µs/event; realistic rules: ${b.toFixed(1)} µs/event (${cb} changed); defaults: ${c.toFixed(1)} µs/event`); }
import { fromBinary } from "@bufbuild/protobuf";
import { EventSchema } from "./gen/chaukas/spec/common/v1/events_pb.ts";
const counts = new Map<string, number>();
let shown = 0;
for (const rec of records) { const out = redactedRecord(on, rec); if (out !== rec) { const e = fromBinary(EventSchema, out.payload); const k = e.redaction!.method + " " + e.redaction!.fields.join(","); counts.set(k, (counts.get(k) ?? 0) + 1); if (shown++ < 2) { const orig = fromBinary(EventSchema, rec.payload); console.log(JSON.stringify(orig.content.value).slice(0, 600)); } } }
console.log([...counts].slice(0, 10));
