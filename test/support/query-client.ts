import http from "node:http";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChaukasClientService } from "../../gen/chaukas/spec/client/v1/client_pb.ts";
import type { Event } from "../../gen/chaukas/spec/common/v1/events_pb.ts";
import { type QueryFilterSchema, SortOrder } from "../../gen/chaukas/spec/common/v1/query_pb.ts";

type FilterInit = MessageInitShape<typeof QueryFilterSchema>;

/** A Connect (binary, HTTP/1.1) ChaukasClientService client, to read back what a test stored. */
export class QueryClient {
  readonly client: Client<typeof ChaukasClientService>;
  readonly #agent = new http.Agent({ keepAlive: true });

  constructor(baseUrl: string) {
    const transport = createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: true,
      nodeOptions: { agent: this.#agent },
    });
    this.client = createClient(ChaukasClientService, transport);
  }

  /** Every matching event, oldest first, following next_page_token page by page. */
  async all(filter: FilterInit, pageSize = 100): Promise<Event[]> {
    const events: Event[] = [];
    let pageToken = "";
    do {
      const { response } = await this.client.queryEvents({
        query: { filter, pageSize, pageToken, orderByTime: SortOrder.ASC },
      });
      events.push(...(response?.events ?? []));
      pageToken = response?.nextPageToken ?? "";
    } while (pageToken);
    return events;
  }

  close(): void {
    this.#agent.destroy();
  }
}
