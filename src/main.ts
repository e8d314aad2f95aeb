import { setTimeout as sleep } from "node:timers/promises";
import { pino } from "pino";
import { packageVersion } from "./app/package-version.ts";
import { buildServerApp, isStartupProblem } from "./app.ts";
import { ConfigError, loadConfig, serverUsage } from "./config.ts";
import { isLoopback } from "./lib/loopback.ts";

/** Starts the server from flags and environment; stops gracefully on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.length === 1 && ["--help", "-h", "--version"].includes(args[0])) {
    process.stdout.write(args[0] === "--version" ? `${packageVersion()}\n` : serverUsage());
    return;
  }
  const config = loadConfig(args, process.env);
  if (config.insecureNoAuth && !isLoopback(config.host)) {
    throw new ConfigError(`--insecure-no-auth is for local experiments: refusing to serve ${config.host} without keys`);
  }
  const log = pino({ level: config.logLevel, redact: ["req.headers.authorization", 'req.headers["x-api-key"]'] });
  const {
    server: app,
    queueDrain,
    retentionJob,
    partitionJob,
    authenticator,
    readiness,
  } = await buildServerApp(config, log);

  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      readiness.drain();
      // SIGINT is someone at a terminal: no load balancer to tell.
      if (signal === "SIGTERM" && config.drainMs > 0) {
        app.log.info(`${signal}: draining for ${config.drainMs} ms (GET /readyz answers 503), then closing`);
        await sleep(config.drainMs);
      }
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
  retentionJob.start();
  partitionJob.start();
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
  } else if (err?.code === "EADDRINUSE") {
    console.error(
      `chaukas: ${err.address}:${err.port} is already in use by another process: stop it, or choose another port (--port, or --metrics for the metrics)`,
    );
  } else {
    console.error("chaukas: failed to start", err);
  }
  process.exit(1);
});
