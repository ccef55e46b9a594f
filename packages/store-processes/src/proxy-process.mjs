// A TcpProxy in a process of its own, for the fault suite: the proxy's timing then does not
// depend on the test runner's event loop (which also runs the sender). Started with fork() and
// the target port as argument; sends {port} once listening; then takes one message per command,
// {id, op: 'forward' | 'stall' | 'refuse' | 'slow' | 'close', min?, max?}, and answers {id}.
// `slow` holds every chunk a uniform min–max ms in each direction.
import { TcpProxy } from './tcp-proxy.mjs';

const proxy = await TcpProxy.start(Number(process.argv[2]));
process.send({ port: proxy.port });
process.on('message', async ({ id, op, min, max }) => {
  if (op === 'slow') proxy.slow(() => min + Math.random() * (max - min));
  else if (op === 'forward') proxy.forward();
  else if (op === 'stall') proxy.stall();
  else if (op === 'refuse') proxy.refuse();
  else if (op === 'close') await proxy.close();
  process.send({ id });
  if (op === 'close') process.disconnect();
});
// The suite went away without closing it: stop.
process.on('disconnect', () => process.exit(0));
