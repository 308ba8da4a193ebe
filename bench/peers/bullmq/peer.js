#!/usr/bin/env node
// The peer a contact centre team would otherwise build on: a BullMQ job
// queue on the same Redis. One job per contact: enqueue (the gateway's
// submit) -> a worker picks it up (the offer) -> the job completes (the
// agent's completion). The producer runs in this process, the worker in a
// forked child (as a team would deploy them: on a 2-core machine Redis,
// producer and worker share the cores like Switchboard's Redis, daemon and
// load generator do).
//
//   node peer.js --redis HOST:PORT --contacts N [--rate R] [--concurrency C]
//
// --rate 0 (default): as fast as possible; enqueues in batches of 100
// (addBulk) with at most --window jobs not yet completed, and reports
// jobs/s from the first enqueue to the last completion.
// --rate R: R jobs/s, one Queue.add each, paced on a 1 ms timer; reports the
// latency enqueue -> worker start (p50/p99/p99.9) measured on wall clocks
// of one machine (performance.timeOrigin + performance.now()).
// The last line is "RESULT key=value ...", for bench/run.sh.
'use strict';

const { fork } = require('child_process');
const { performance } = require('perf_hooks');
const { Queue, Worker } = require('bullmq');

function parseArgs(argv) {
  const o = { redis: null, contacts: 10000, rate: 0, concurrency: 50, window: 5000, role: 'producer', queue: 'sbpeer' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    switch (k) {
      case '--redis': o.redis = v; i++; break;
      case '--contacts': o.contacts = Number(v); i++; break;
      case '--rate': o.rate = Number(v); i++; break;
      case '--concurrency': o.concurrency = Number(v); i++; break;
      case '--window': o.window = Number(v); i++; break;
      case '--queue': o.queue = v; i++; break;
      case '--worker': o.role = 'worker'; break;
      case '-h': case '--help':
        console.log('usage: node peer.js --redis HOST:PORT --contacts N [--rate R] [--concurrency C] [--window W]');
        process.exit(0);
        break;
      default:
        console.error(`peer.js: unknown option ${k}`);
        process.exit(2);
    }
  }
  if (!o.redis || !/^[^:]+:\d+$/.test(o.redis) || !(o.contacts > 0) || !(o.rate >= 0) ||
      !(o.concurrency > 0) || !(o.window > 0)) {
    console.error('peer.js: --redis HOST:PORT and --contacts N > 0 required; --rate >= 0');
    process.exit(2);
  }
  const [host, port] = o.redis.split(':');
  o.connection = { host, port: Number(port), maxRetriesPerRequest: null };
  return o;
}

const nowMs = () => performance.timeOrigin + performance.now();

// ---- the worker (child process) -------------------------------------------
function runWorker(o) {
  const lat = new Float64Array(o.contacts);
  let started = 0;
  let completed = 0;
  const worker = new Worker(o.queue, async (job) => {
    if (started < lat.length) lat[started] = nowMs() - job.data.t;
    started++;
    return null; // the agent "handles" it at once, like sb-load --handle-ms 0
  }, { connection: o.connection, concurrency: o.concurrency, autorun: true });
  worker.on('completed', () => {
    completed++;
    if (completed % 100 === 0 || completed === o.contacts) process.send({ completed });
    if (completed === o.contacts) {
      process.send({ done: true, lat: Array.from(lat.subarray(0, Math.min(started, lat.length))) });
    }
  });
  worker.on('error', (e) => { console.error('peer.js worker:', e.message); });
  worker.on('ready', () => process.send({ ready: true }));
  process.on('message', async (m) => {
    if (m.stop) {
      await worker.close();
      process.exit(0);
    }
  });
}

// ---- the producer (this process) -------------------------------------------
function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)];
}

async function commandCalls(client) {
  const info = await client.info('commandstats');
  let calls = 0;
  let evals = 0;
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (!m || m[1] === 'info') continue;
    if (m[1] === 'evalsha' || m[1] === 'eval') evals += Number(m[2]);
    else calls += Number(m[2]);
  }
  return { calls, evals };
}

async function runProducer(o) {
  const queue = new Queue(o.queue, {
    connection: o.connection,
    // What a team tuning for speed would set: finished jobs are not kept.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: 1000 },
  });
  await queue.obliterate({ force: true }).catch(() => {});
  const client = await queue.client;

  const child = fork(__filename, [...process.argv.slice(2), '--worker'], { stdio: 'inherit' });
  let completed = 0;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  let wakeProducer = null;
  await new Promise((resolve, reject) => {
    child.on('message', (m) => {
      if (m.ready) resolve();
      if (m.completed !== undefined) {
        completed = m.completed;
        if (wakeProducer) { const w = wakeProducer; wakeProducer = null; w(); }
      }
      if (m.done) resolveDone(m.lat);
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}`)));
  });

  const before = await commandCalls(client);
  const t0 = nowMs();
  let sent = 0;
  if (o.rate === 0) {
    while (sent < o.contacts) {
      if (sent - completed >= o.window) {
        await new Promise((r) => { wakeProducer = r; });
        continue;
      }
      const n = Math.min(100, o.contacts - sent);
      const jobs = [];
      for (let i = 0; i < n; i++) jobs.push({ name: 'contact', data: { id: `c-${sent + i}`, t: nowMs() } });
      await queue.addBulk(jobs);
      sent += n;
    }
  } else {
    // Paced: at each 1 ms tick, add the jobs due by now.
    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(o.contacts, Math.floor(((nowMs() - t0) / 1000) * o.rate));
        while (sent < due) {
          queue.add('contact', { id: `c-${sent}`, t: nowMs() });
          sent++;
        }
        if (sent >= o.contacts) { clearInterval(timer); resolve(); }
      }, 1);
    });
  }
  const lat = await done;
  const t1 = nowMs();
  const after = await commandCalls(client);
  child.send({ stop: true });
  await new Promise((r) => child.on('exit', r));
  await queue.close();

  const secs = (t1 - t0) / 1000;
  const sorted = Float64Array.from(lat).sort();
  const perJob = (after.calls - before.calls) / o.contacts;
  const evalsPerJob = (after.evals - before.evals) / o.contacts;
  console.log(`bullmq ${require('bullmq/package.json').version}: ${o.contacts} jobs in ${secs.toFixed(2)} s ` +
    `(${o.rate ? o.rate + '/s offered' : 'max rate'}), worker concurrency ${o.concurrency}`);
  console.log(`jobs/s ${(o.contacts / secs).toFixed(0)}; enqueue -> worker start ms p50 ${pct(sorted, 50).toFixed(3)} ` +
    `p99 ${pct(sorted, 99).toFixed(3)} p99.9 ${pct(sorted, 99.9).toFixed(3)} max ${sorted[sorted.length - 1].toFixed(3)}`);
  console.log(`Redis per job: ${evalsPerJob.toFixed(2)} scripts, ${perJob.toFixed(2)} other commands (script calls counted inside)`);
  console.log(`RESULT contacts=${o.contacts} secs=${secs.toFixed(3)} jobs_per_s=${(o.contacts / secs).toFixed(0)} ` +
    `p50_ms=${pct(sorted, 50).toFixed(3)} p99_ms=${pct(sorted, 99).toFixed(3)} p999_ms=${pct(sorted, 99.9).toFixed(3)} ` +
    `scripts_per_job=${evalsPerJob.toFixed(2)} commands_per_job=${perJob.toFixed(2)}`);
}

const opts = parseArgs(process.argv.slice(2));
if (opts.role === 'worker') {
  runWorker(opts);
} else {
  runProducer(opts).then(() => process.exit(0), (e) => {
    console.error('peer.js:', e.message);
    process.exit(1);
  });
}
