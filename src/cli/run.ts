// Runs the CLI from source (`node --import tsx src/cli/run.ts …`), as bin/etape.js does from the build.
import { main } from './main.js';

// `etape rollout history <id> | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv).then((code) => {
  process.exitCode = code;
});
