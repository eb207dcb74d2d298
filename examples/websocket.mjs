// examples/websocket.mjs: prints the seq and title of each entry of "mycoolfeed", from the first
// one, then live, over a WebSocket, until Ctrl-C. Run it from the clone: node examples/websocket.mjs
import WebSocket from 'ws';

const server = (process.env.ATOMMQ_URL ?? 'http://localhost:8080').replace(/^http/, 'ws');
const ws = new WebSocket(`${server}/feeds/mycoolfeed/ws?lastid=0&format=json`);
ws.on('message', (data) => {
  const entry = JSON.parse(data.toString());
  console.log(entry.seq, entry.title);
});
ws.on('close', (code, reason) => console.log(`closed: ${code} ${reason}`));
