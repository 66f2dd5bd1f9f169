// rqlite-js's basic flows (its README's examples) against sqlrep nodes: create a table,
// insert with and without parameters, query a row back, update, a transaction, a failing
// statement reported as an error result, reads at each consistency level, HTTP Basic
// credentials and the status API. Run by test/integration/rqlite_client_test.cpp:
//   node basic_flows.js MASTER_URL REPLICA_URL PASSWORD
// Exits 0 when every check holds; prints the first failure and exits 1 otherwise.
'use strict';
const assert = require('node:assert/strict');
const { DataApiClient, StatusApiClient } = require('rqlite-js');

const [masterUrl, replicaUrl, password] = process.argv.slice(2);
const authentication = { username: 'sqlrep', password };

async function flows(url, table, writer) {
  const data = new DataApiClient(url, { authentication });
  let results = await data.execute(
    `CREATE TABLE IF NOT EXISTS ${table} (id integer not null primary key, name text)`);
  if (writer) assert.equal(results.hasError(), false, JSON.stringify(results.toArray()));

  results = await data.execute(`INSERT INTO ${table}(name) VALUES("fiona")`);
  assert.equal(results.hasError(), false, JSON.stringify(results.toArray()));
  const id = results.get(0).getLastInsertId();
  assert.ok(id > 0, 'last insert id');

  results = await data.query(`SELECT name FROM ${table} WHERE id="${id}"`);
  assert.equal(results.hasError(), false);
  assert.equal(results.get(0).get('name'), 'fiona');
  assert.deepEqual(results.get(0).toObject(), { name: 'fiona' });

  results = await data.execute(`UPDATE ${table} SET name="justin" WHERE name="fiona"`);
  assert.equal(results.get(0).getRowsAffected(), 1);

  results = await data.execute([
    [`INSERT INTO ${table}(name) VALUES(?)`, 'declan'],
    `INSERT INTO ${table}(name) VALUES('aoife')`,
  ], { transaction: true });
  assert.equal(results.hasError(), false);
  assert.ok(results.get(1).getLastInsertId() > results.get(0).getLastInsertId());

  results = await data.execute(`INSERT INTO no_such_table(name) VALUES('x')`);
  assert.equal(results.hasError(), true);
  assert.match(results.getFirstError().toString(), /no such table/);

  for (const level of ['strong', 'linearizable', 'weak']) {
    results = await data.query([`SELECT count(*) AS n FROM ${table} WHERE name = 'justin'`,
                                `SELECT name FROM ${table} ORDER BY id`], { level });
    assert.equal(results.hasError(), false, level);
    assert.equal(results.get(0).get('n'), 1, level);
  }
  // none reads this node as it is; a replica has the write once it has applied it, which
  // it has: it answered the write only after applying it.
  results = await data.query(`SELECT count(*) AS n FROM ${table} WHERE name = 'justin'`,
                             { level: 'none' });
  assert.equal(results.get(0).get('n'), 1);
  const raw = await data.query(`SELECT id, name FROM ${table} ORDER BY id`, { raw: true });
  assert.equal(raw.status, 200);
  assert.deepEqual(raw.body.results[0].columns, ['id', 'name']);
  assert.deepEqual(raw.body.results[0].types, ['integer', 'text']);

  const status = new StatusApiClient(url, { authentication });
  const { body } = await status.status();
  assert.equal(body.store.ready, true);
  assert.ok(body.build.version);
}

(async () => {
  await flows(masterUrl, 'foo', true);
  // Through a replica: its writes are forwarded to the master. Schema changes run on the
  // master only, so the table is made there first.
  const admin = new DataApiClient(masterUrl, { authentication });
  const made = await admin.execute('CREATE TABLE bar (id integer not null primary key, name text)');
  assert.equal(made.hasError(), false);
  await flows(replicaUrl, 'bar', false);
  console.log('rqlite-js basic flows passed against', masterUrl, 'and', replicaUrl);
})().catch((e) => {
  console.error('rqlite-js flow failed:', e && e.stack ? e.stack : e);
  process.exit(1);
});
