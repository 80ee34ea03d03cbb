// Starts `osp serve` and reports the gRPC status code of each given method
// called with an empty request (12 = UNIMPLEMENTED), as JSON on stdout.
// Plain JavaScript, run synchronously by the tests before they register, so
// cases for RPCs the sidecar does not implement yet are reported as skipped.
// Usage: node probe.js OSP_BIN FROM_DIR /pkg.Service/Method...
const { spawn } = require('node:child_process');
const http2 = require('node:http2');
const net = require('node:net');

const [bin, fromDir, ...methods] = process.argv.slice(2);

function freePort() {
  return new Promise(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function call(session, path) {
  return new Promise(resolve => {
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let status;
    req.on('response', h => (status = h['grpc-status'] ?? status));
    req.on('trailers', t => (status = t['grpc-status'] ?? status));
    req.on('data', () => {});
    req.on('close', () => resolve(status === undefined ? -1 : Number(status)));
    req.on('error', () => resolve(-1));
    req.end(Buffer.alloc(5)); // one empty, uncompressed message
  });
}

(async () => {
  const port = await freePort();
  const child = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--from-dir', fromDir], {
    stdio: 'ignore',
  });
  const result = {};
  try {
    for (let i = 0; i < 100; i++) {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => {});
      const health = await call(session, '/grpc.health.v1.Health/Check');
      if (health === 0) {
        for (const m of methods) result[m] = await call(session, m);
        session.close();
        break;
      }
      session.destroy();
      await new Promise(r => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGKILL');
  }
  process.stdout.write(JSON.stringify(result));
})();
