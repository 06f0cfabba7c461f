// Malformed and hostile requests over raw sockets: every one must get a 4xx
// answer, and the server must still answer normally afterwards.
//   node malformed.mjs URL
import net from 'node:net';

const url = new URL(process.argv[2]);
function send(raw) {
  return new Promise(resolve => {
    const sock = net.createConnection({ host: url.hostname, port: Number(url.port) });
    let data = '';
    sock.setTimeout(10000, () => sock.destroy());
    sock.on('data', d => { data += d.toString('latin1'); });
    sock.on('error', () => {});
    sock.on('close', () => resolve(Number((/^HTTP\/1\.[01] (\d{3})/.exec(data) || [])[1] || 0)));
    sock.end(raw);
  });
}
const get = (target, method = 'GET') => send(`${method} ${target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);

const cases = [];
const badEscapes = ['%', '%1', '%G1', '%zz', '%%', '%0', '%00', '%0a', '%7f', '%C0%AF', '%ED%A0%80', '%F8%88%80%80', '%FF'];
for (const e of badEscapes) {
  cases.push([`/api/recommend?user=${e}`, 'GET']);
  cases.push([`/api/similar?item=x${e}y`, 'GET']);
  cases.push([`/product/${e}`, 'GET']);
  cases.push([`/?q=${e}`, 'GET']);
  cases.push([`/api/recommend?${e}=1&user=C1`, 'GET']);
}
for (const n of [300, 2000, 5000, 20000, 40000, 100000]) {
  cases.push([`/api/recommend?user=${'a'.repeat(n)}`, 'GET']);
  cases.push([`/api/recommend?items=${'P1,'.repeat(n / 3)}`, 'GET']);
  cases.push([`/${'x'.repeat(n)}`, 'GET']);
}
for (const k of ['0', '-1', '101', 'abc', '1e3', '', '99999999999999999999', '10x'])
  cases.push([`/api/recommend?user=C10003&k=${k}`, 'GET']);
cases.push(['/api/recommend', 'GET'], ['/api/recommend?user=a&items=b', 'GET'], ['/api/similar', 'GET'],
           ['/api/explain?user=a', 'GET'], ['/api/recommend?' + 'a=1&'.repeat(40), 'GET'],
           ['/api/similar?item=NO-SUCH-ITEM', 'GET'], ['/api/product?item=NO-SUCH-ITEM', 'GET']);
for (let i = 0; i < 100; i++) cases.push([`/no/such/page/${i}`, 'GET'], [`/api/nothing${i}`, 'GET']);
for (const m of ['DELETE', 'PUT', 'PATCH', 'OPTIONS', 'TRACE']) cases.push(['/', m], ['/api/recommend?user=C10003', m]);
cases.push(['/api/recommend?user=C10003', 'POST'], ['/cart/add', 'POST'], ['/shopper?user=NOBODY', 'POST']);
// search and chat (404 where the library has not got them, else 400)
for (const t of ['/api/search?q=', '/api/suggest?q=', '/api/chat?q=', '/search?q=', '/help?q='])
  cases.push([t + 'x'.repeat(201), 'GET'], [t + '%ZZ', 'GET']);
cases.push(['/api/search?q=ok&k=0', 'GET'], ['/api/suggest?q=ok&k=101', 'GET']);
cases.push(['/api/search', 'GET'], ['/api/chat', 'GET'], ['/api/suggest', 'GET'], ['/api/search?q=a&user=' + 'u'.repeat(65), 'GET']);
cases.push(['relative/path', 'GET'], ['/static/../../etc/passwd', 'GET'], ['/static/nothing.css', 'GET']);

let bad = 0, total = 0;
const failures = [];
for (const [target, method] of cases) {
  const status = await get(target, method);
  total++;
  if (status < 400 || status > 499) { bad++; failures.push(`${method} ${target.slice(0, 60)} -> ${status}`); }
}
// Broken request lines and headers: libmicrohttpd answers these itself,
// with 400/413/431, 505 for an unknown HTTP version, or by closing a
// connection whose request line it cannot parse at all.
let closed = 0;
for (const raw of ['GARBAGE\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n',
                   `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(60000)}\r\n\r\n`,
                   'POST /cart/add HTTP/1.1\r\nHost: t\r\nContent-Length: 9000\r\nConnection: close\r\n\r\n' + 'item=' + 'x'.repeat(8995)]) {
  const status = await send(raw);
  total++;
  if (status === 0) { closed++; continue; }
  if (status === 505) continue;
  if (status < 400 || status > 499) { bad++; failures.push(`${JSON.stringify(raw.slice(0, 40))} -> ${status}`); }
}
const ok = await get('/api/trending?k=3');
if (ok !== 200) { bad++; failures.push(`server unhealthy afterwards: /api/trending -> ${ok}`); }
for (const f of failures) console.log('  FAIL ' + f);
console.log(`malformed: ${total} requests, ${total - bad - closed} answered 4xx/505, ${closed} unparsable request ` +
            `lines closed by libmicrohttpd, ${bad} wrong; server healthy afterwards: ${ok === 200}`);
process.exit(bad ? 1 : 0);
