// `npm start`'s first step, before the build replaces dist/ (`rm -rf dist`): refuses to go on when
// a server already holds the embedded data directory, so the running server is left untouched.
// It reads the settings from the environment only: npm hands `npm start -- --data-dir X` to the
// start script, not to this one. So it names `npm run serve`, which starts the built server
// without a build, for a second server beside the first.
import { existsSync } from "node:fs";
import { resolveSetting } from "../src/config.ts";
import { DataDirLockedError, lockDataDir } from "../src/store/sql/data-dir-lock.ts";

const dataDir = resolveSetting("dataDir", undefined, process.env);
if (!resolveSetting("databaseUrl", undefined, process.env) && existsSync(dataDir)) {
  try {
    (await lockDataDir(dataDir))();
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    console.error(
      `chaukas: ${err.message}. npm start would rebuild dist/ under it: stop it first, or start another ` +
        "server without a build: npm run serve -- --data-dir DIR (or --database-url URL)",
    );
    process.exit(1);
  }
}
