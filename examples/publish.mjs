// examples/publish.mjs: publishes order N (default 42) to the feed "orders".
// Run it from the clone: node examples/publish.mjs 43
import { AtomMQClient } from 'atommq';

const orderId = Number(process.argv[2] ?? 42);
const client = new AtomMQClient(process.env.ATOMMQ_URL ?? 'http://localhost:8080');
// The idempotency key makes running this twice for one order store it once.
const { seq, created } = await client.publish('orders', {
  title: `order ${orderId}`,
  content: { orderId },
  idempotencyKey: `order-${orderId}`,
});
console.log(`${created ? 'published' : 'already published'}: order ${orderId}, seq ${seq}`);
await client.close();
