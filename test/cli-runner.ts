// Runs the `etape` CLI from source in a child process, for end-to-end tests. A run that outlives
// `timeoutMs` gets SIGINT, as a person's Ctrl-C, so the command's own cleanup is exercised too.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const mainTs = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

export function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `const { main } = await import(${JSON.stringify(mainTs)}); process.exitCode = await main(['node', 'etape', ...${JSON.stringify(args)}]);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}
