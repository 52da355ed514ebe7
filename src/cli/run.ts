// Runs the CLI from source (`node --import tsx src/cli/run.ts …`), as bin/etape.js does from the build.
import { main } from './main.js';

main(process.argv).then((code) => {
  process.exitCode = code;
});
