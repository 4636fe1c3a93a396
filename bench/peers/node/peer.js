// The pipeline a team writes by hand instead of sluice (issue 4's peer):
// pg-logical-replication reads the slot with pgoutput, each transaction's rows
// are written to Redis with ioredis as one pipeline (SET of the row as JSON, DEL
// for a delete), and the transaction is acknowledged once Redis has it. This is
// the ordinary "consume the slot, write the cache" loop, done reasonably: flow
// control on (no unbounded buffering), manual acknowledgement, one round trip
// per transaction.
//
//   node peer.js   (configured by the environment)
//     PEER_PG          connection string (replication=database is added)
//     PEER_SLOT        slot name (pgoutput, created beforehand)
//     PEER_PUBLICATION publication name
//     PEER_REDIS_PORT  Redis on 127.0.0.1
//     PEER_PREFIX      key prefix (default "peer:"), keys are PREFIX + table + ":" + id
//     PEER_END_LSN     optional: exit 0 once a transaction committed at or after it is acknowledged
//
// Prints "peer: streaming" when replication has started and "peer: done <lsn>" at
// PEER_END_LSN.
'use strict';
const { LogicalReplicationService, PgoutputPlugin } = require('pg-logical-replication');
const Redis = require('ioredis');

function lsnValue(text) {
  const [hi, lo] = text.split('/');
  return (BigInt('0x' + hi) << 32n) | BigInt('0x' + lo);
}

const prefix = process.env.PEER_PREFIX ?? 'peer:';
const endLsn = process.env.PEER_END_LSN ? lsnValue(process.env.PEER_END_LSN) : null;
const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.PEER_REDIS_PORT), enableAutoPipelining: false });
const service = new LogicalReplicationService(
  { connectionString: process.env.PEER_PG },
  { acknowledge: { auto: false, timeoutSeconds: 1 }, flowControl: { enabled: true } },
);
const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [process.env.PEER_PUBLICATION] });

let pipeline = null;
function keyOf(relation, row) {
  return prefix + relation.name + ':' + relation.keyColumns.map((c) => row[c]).join(':');
}

service.on('start', () => console.log('peer: streaming'));
service.on('data', async (lsn, message) => {
  switch (message.tag) {
    case 'begin':
      pipeline = redis.pipeline();
      break;
    case 'insert':
    case 'update':
      pipeline.set(keyOf(message.relation, message.new), JSON.stringify(message.new));
      break;
    case 'delete':
      pipeline.del(keyOf(message.relation, message.key ?? message.old));
      break;
    case 'commit': {
      const results = await pipeline.exec();
      for (const [error] of results) if (error) throw error;
      pipeline = null;
      await service.acknowledge(message.commitEndLsn);
      // The commit record starts at or after PEER_END_LSN: the marker transaction.
      if (endLsn !== null && lsnValue(message.commitLsn) >= endLsn) {
        console.log('peer: done ' + message.commitEndLsn);
        await service.stop();
        await redis.quit();
        process.exit(0);
      }
      break;
    }
    default:
      break;
  }
});
service.on('error', (error) => {
  console.error('peer: ' + error.message);
  process.exit(1);
});
service.subscribe(plugin, process.env.PEER_SLOT).catch((error) => {
  console.error('peer: ' + error.message);
  process.exit(1);
});
