//! The state database's schema, as an ordered list of migrations. `PRAGMA user_version` records
//! how many have run; a file from a newer duro is refused rather than misread.

/// Each entry upgrades the schema by one version. Never edit a released entry: append.
pub const MIGRATIONS: &[&str] = &[
    r#"
create table tables (
    name text primary key,
    interval_minutes integer,
    definition text not null,
    select_query text,
    script text,
    requirements text,
    tests text,
    files text not null,
    config text not null,
    config_sources text not null,
    sources text not null,
    definition_hash text not null,
    force integer not null default 0,
    removed_at integer,
    added_at integer not null,
    changed_at integer not null,
    last_built integer,
    mean_seconds real,
    run_count integer not null default 0,
    lease_owner text,
    lease_until integer
);

create table dependencies (
    table_name text not null references tables(name) on delete cascade,
    depends_on text not null,
    waits integer not null default 1,
    primary key (table_name, depends_on)
) without rowid;
create index dependencies_by_dependency on dependencies(depends_on);

create table schedules (
    id integer primary key,
    at integer not null,
    content_hash text not null,
    git_commit text,
    new_tables text not null,
    updated_tables text not null,
    removed_tables text not null
);

create table runs (
    id integer primary key,
    table_name text not null,
    started_at integer not null,
    finished_at integer,
    outcome text,
    error text,
    failed_tests text,
    rows integer,
    steps text not null default '[]',
    output text,
    owner text
);
create index runs_by_table on runs(table_name, started_at);
create index runs_by_start on runs(started_at);

create table notifications (
    key text primary key,
    sent_at integer not null
);
"#,
    // 2: the latest finished run of each table, kept on the table so that status pages do not
    // scan the runs.
    r#"
alter table tables add column last_outcome text;
alter table tables add column last_error text;
alter table tables add column last_finished integer;
update tables set
    last_outcome = (select r.outcome from runs r where r.table_name = tables.name and r.finished_at is not null order by r.id desc limit 1),
    last_error = (select r.error from runs r where r.table_name = tables.name and r.finished_at is not null order by r.id desc limit 1),
    last_finished = (select max(r.finished_at) from runs r where r.table_name = tables.name);
create index runs_by_finish on runs(finished_at);
"#,
    // 3: finished runs counted per table and outcome, kept up to date by the creator, so that
    // /metrics does not group a million runs.
    r#"
create table run_counts (
    table_name text not null,
    outcome text not null,
    count integer not null,
    primary key (table_name, outcome)
) without rowid;
insert into run_counts (table_name, outcome, count)
    select table_name, outcome, count(*) from runs where outcome is not null group by 1, 2;
"#,
    // 4: what the scheduler parsed, by query text, so that a schedule parses only new queries.
    r#"
create table parse_cache (
    key text primary key,
    parsed text not null
) without rowid;
"#,
    // 5: the current streak of failed runs of each table and when the latest one ended, from
    // which the planner computes a failing table's wait before it is due again (retry backoff).
    // A table whose latest run failed starts with a streak of one.
    r#"
alter table tables add column failures integer not null default 0;
alter table tables add column failed_at integer;
update tables set failures = 1, failed_at = last_finished
    where last_outcome in ('failed', 'tests_failed', 'timeout') and last_finished is not null;
"#,
    // 6: the outcome of the latest schedule attempt (one row), so that a refused views directory
    // shows in the UI and /metrics.
    r#"
create table schedule_status (
    id integer primary key check (id = 1),
    ok integer not null,
    at integer not null,
    errors text not null default '[]'
);
"#,
    // 7: the step a run is in (written when it starts, so a running job shows it), the step a
    // failed run failed in, and what its failed data tests returned (SQL and values).
    r#"
alter table runs add column current_step text;
alter table runs add column failed_step text;
alter table runs add column test_failures text;
"#,
    // 8: tables whose history was imported from the earlier Python tool, so that a second
    // import changes nothing.
    r#"
create table imports (
    table_name text primary key,
    source text not null,
    at integer not null
) without rowid;
"#,
];
