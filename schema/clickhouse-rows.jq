# One lineage export line (read raw, jq -R) as a row of lineage.events
# (schema/clickhouse.sql) for ClickHouse's JSONEachRow:
#
#   lineage export --follow --cursor C | jq -cR -f schema/clickhouse-rows.jq |
#     clickhouse-client --query 'INSERT INTO lineage.events FORMAT JSONEachRow'
#
# The line goes in as it is (the raw string, never re-serialized: jq's
# numbers are doubles, and a cgroup id may not fit one); the other columns
# are copies of its fields.
. as $line
| fromjson
| {
    time: (.time[0:19] | sub("T"; " ")),
    node: (.node // ""),
    journal_id: (.journal_id // ""),
    boot_id: (.boot_id // ""),
    run: (.run // 0),
    batch: (.batch // 0),
    kind: (.kind // ""),
    entity_id: (.process.entity_id // ""),
    parent_entity_id: (.parent.entity_id // ""),
    tgid: (.process.tgid // 0),
    pod_uid: (.pod.uid // ""),
    pod_namespace: (.pod.namespace // ""),
    pod_name: (.pod.name // ""),
    container: (.pod.container // ""),
    binary: (.process.binary // ""),
    daddr: (.connect.daddr // ""),
    dport: (.connect.dport // 0),
    line: $line
  }
