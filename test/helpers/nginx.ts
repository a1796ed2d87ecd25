/**
 * Debian's nginx as a foreground child process (`daemon off`, `master_process off`) with a
 * generated config under a temporary prefix, on 127.0.0.1: every path nginx writes is inside that
 * prefix, so it runs unprivileged beside the tests. The same start-and-wait-for-the-port pattern
 * as the HAProxy starter (bench/harness.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProc, until, type Proc } from '../../bench/harness';

export interface Nginx extends Proc {
  /** The prefix directory holding the config, logs and temp files (removed on exit). */
  readonly prefix: string;
  /** nginx's error log so far, for failure messages. */
  errorLog(): string;
}

/** Starts nginx with `http { <httpBody> }`, waiting until `waitForPort` accepts connections. */
export async function startNginx(httpBody: string, waitForPort: number): Promise<Nginx> {
  const prefix = mkdtempSync(join(tmpdir(), 'linkgate-nginx-'));
  const errorLog = join(prefix, 'error.log');
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `daemon off;
master_process off;
pid ${join(prefix, 'nginx.pid')};
error_log ${errorLog} info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
${httpBody}
}
`,
  );
  // -e: the compiled-in error log is outside the prefix and not writable here.
  const proc = startProc('nginx', ['-p', prefix, '-e', errorLog, '-c', join(prefix, 'nginx.conf')]);
  proc.child.on('exit', () => rmSync(prefix, { recursive: true, force: true }));
  const readLog = () => {
    try {
      return readFileSync(errorLog, 'utf8');
    } catch {
      return '';
    }
  };
  await until(
    () =>
      new Promise<boolean>((resolve) => {
        if (proc.child.exitCode !== null) return resolve(false);
        const s = connect({ host: '127.0.0.1', port: waitForPort }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    10_000,
    () => `nginx not listening on ${waitForPort}: ${proc.output()}\n${readLog()}`,
  );
  return { ...proc, prefix, errorLog: readLog };
}
