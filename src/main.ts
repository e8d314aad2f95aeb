import { pino } from "pino";
import { buildServerApp, isStartupProblem } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { isLoopback } from "./lib/loopback.ts";

/** Starts the server from flags and environment; stops gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const config = loadConfig(process.argv.slice(2), process.env);
  if (config.insecureNoAuth && !isLoopback(config.host)) {
    throw new ConfigError(`--insecure-no-auth is for local experiments: refusing to serve ${config.host} without keys`);
  }
  const log = pino({ level: config.logLevel, redact: ["req.headers.authorization", 'req.headers["x-api-key"]'] });
  const { server: app, queueDrain, authenticator } = await buildServerApp(config, log);

  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      app.log.info(`${signal}: finishing in-flight requests, then closing`);
      app.close().then(
        () => process.exit(0),
        (err) => {
          app.log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }

  await app.listen({ host: config.host, port: config.port });
  queueDrain.start();
  app.log.info(
    {
      store: config.databaseUrl ? "postgres" : `embedded (${config.dataDir})`,
      tls: Boolean(config.tlsCertFile),
      auth: authenticator.enforced ? "api keys" : "none (--insecure-no-auth)",
    },
    "chaukas server ready",
  );
}

main().catch((err) => {
  if (isStartupProblem(err)) {
    console.error(`chaukas: ${err.message}`);
  } else {
    console.error("chaukas: failed to start", err);
  }
  process.exit(1);
});
