// One worker of the consumer group "shipping" of the feed "orders": start several, anywhere, and
// each message goes to one of them. Usage: node examples/group-worker.mjs [server] [feed] [group]
import { AtomMQClient } from 'atommq';

const [server = 'http://localhost:8080', feed = 'orders', group = 'shipping'] = process.argv.slice(2);
const client = new AtomMQClient(server);
await client.connect();                                      // fail at start-up, not at the first message
const worker = client.work(feed, group, async (message) => {
  console.log(`seq ${message.seq} (delivery ${message.deliveries}): ${message.title}`);  // throw to nack
}, { concurrency: 4 });                                      // acked once the handler resolved
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => worker.stop());  // finish, ack, stop
await worker.done;
await client.close();
