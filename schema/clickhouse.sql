-- lineage's fleet store: `lineage export --format jsonl` lines from every
-- node, in one ClickHouse table (tested with Debian 12's clickhouse-server,
-- 18.16: MergeTree, DateTime('UTC'), no JSON type and no JSON functions
-- over nested objects, so the columns below are extracted by the shipper;
-- see README "Many nodes" and man lineage-export(1), FLEET STORE).
--
-- Each row is one exported line: `line` holds it byte for byte, as export
-- wrote it, and is what goes back to `lineage import --from lineage`; the
-- other columns are copies of its fields, for the fleet's questions (which
-- process connected to an address, what ran in a pod, where a binary ran)
-- and for the order of the table. A field a line does not have is '' or 0.
--
--   clickhouse-client --multiquery < schema/clickhouse.sql

CREATE DATABASE IF NOT EXISTS lineage;

CREATE TABLE IF NOT EXISTS lineage.events (
    time             DateTime('UTC'),  -- the line's wall-clock time, to the second ("time", UTC)
    node             String,           -- "node": host name of the recording node
    journal_id       String,           -- "journal_id": the journal the line came from
    boot_id          String,           -- "boot_id"
    run              UInt32,           -- "run": the recording run in that journal
    batch            UInt64,           -- "batch": the journal batch (chained by the batch lines' hashes)
    kind             String,           -- "kind": fork, exec, exit, connect, snapshot, run_start, clock, batch, ...
    entity_id        String,           -- "process.entity_id": a process, stable across lines and nodes
    parent_entity_id String,           -- "parent.entity_id"
    tgid             UInt32,           -- "process.tgid"
    pod_uid          String,           -- "pod.uid"
    pod_namespace    String,           -- "pod.namespace"
    pod_name         String,           -- "pod.name"
    container        String,           -- "pod.container"
    binary           String,           -- "process.binary" (text, U+FFFD for bytes that were not UTF-8)
    daddr            String,           -- connect: "connect.daddr"
    dport            UInt16,           -- connect: "connect.dport"
    line             String            -- the exported line itself
) ENGINE = MergeTree()
PARTITION BY toYYYYMM(time)
ORDER BY (time, pod_uid, entity_id);
