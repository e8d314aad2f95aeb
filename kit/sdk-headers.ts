/** The headers the Python SDK (chaukas-sdk 0.1.0, over httpx) sends; node:http adds Host and Content-Length. */
export const SDK_HEADERS = {
  accept: "*/*",
  "accept-encoding": "gzip, deflate",
  connection: "keep-alive",
  "user-agent": "chaukas-sdk/0.1.0",
  "content-type": "application/x-protobuf",
  authorization: "Bearer test-key",
};
