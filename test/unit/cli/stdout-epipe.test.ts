/** Issue 12: `iscsi-sim cim ei … | head -3` crashed with an unhandled `Error: write EPIPE`. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startCimServer } from '../../../src/cim/index.ts';
import { fakeView } from '../cim/support/fake-view.ts';
import { cliPath } from '../../integration/support/system-process.ts';

t.test('a reader that goes away (| head) makes the CLI exit quietly', async (t) => {
  const server = await startCimServer(fakeView({ name: 'sysa' }), { enabled: true, address: '127.0.0.1', port: 0 }, { persist: false });
  t.teardown(() => server.close());
  const child = spawn(process.execPath, [cliPath, 'cim', '--url', server.url, 'ei', 'CIM_ComputerSystem'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Like `head -0`: the read end is closed before the CLI writes its first line.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  t.equal(code, 0, 'exit status 0');
  t.equal(stderr, '', 'nothing on stderr (no EPIPE stack)');
});
