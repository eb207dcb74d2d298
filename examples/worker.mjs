// examples/worker.mjs: ships every order published to the feed "orders", one at a time, in order.
// Stopped and started again, it resumes after the last order it finished (the cursor file).
// Run it from the clone: node examples/worker.mjs   (ATOMMQ_URL names another server)
import { AtomMQClient, FileCursorStore } from 'atommq';

/** The work: here it only prints the order. Throw to have the entry retried, with backoff. */
async function ship(order) {
  console.log(`shipping order ${order.orderId}`);
}

const client = new AtomMQClient(process.env.ATOMMQ_URL ?? 'http://localhost:8080');
await client.connect();                                  // fail at start-up, not at the first message
const worker = client.subscribe('orders', async (entry) => {
  if (entry.deleted) return;                             // tombstones of deleted entries come too
  await ship(entry.content);
}, { cursorStore: new FileCursorStore('orders.cursor') });
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => worker.stop());             // finishes the entry in progress first
}
await worker.done;                                       // rejects on what retrying cannot fix
await client.close();
