// examples/group-worker.mjs: one worker of the consumer group "shipping" of the feed "orders".
// Start several: each order goes to one of them, and to another if that one dies before acking.
// Run it from the clone: node examples/group-worker.mjs   (ATOMMQ_URL names another server)
import { AtomMQClient } from 'atommq';

const client = new AtomMQClient(process.env.ATOMMQ_URL ?? 'http://localhost:8080');
await client.connect();                                  // fail at start-up, not at the first message
const worker = client.work('orders', 'shipping', async (message) => {
  console.log(`shipping order ${message.content.orderId} (delivery ${message.deliveries})`);  // throw to nack
}, { concurrency: 4 });                                  // acked once the handler resolved
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => worker.stop());             // running handlers finish and ack first
}
await worker.done;                                       // rejects on what retrying cannot fix
await client.close();
