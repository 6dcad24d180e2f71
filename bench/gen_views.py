#!/usr/bin/env python3
"""Generates a layered workload of N views, reproducibly from a seed, as a duro views directory
and, optionally, as the equivalent dbt project (same tables, same SQL, `ref()` between models,
`materialized='table'`).

Layer 0 reads a raw source table (raw.events); every view of layer L reads 1-3 views of layer
L-1. The top layer has intervals (roots must), lower layers mostly inherit. About 10% of tables
have tests, every schema has a config, and a global config grants select.

In the dbt project every model is `models/<schema>/<table>.sql` with
`{{ config(materialized='table', schema='<schema>') }}`; a `generate_schema_name` macro keeps
the schema names as they are (dbt would prefix them with the target schema), raw.events is a
source, and the tests are singular data tests (`tests/`), which `dbt parse` reads and `dbt run`
does not run. Intervals and the Redshift-only settings have no dbt equivalent.

usage: gen_views.py N OUT_DIR [--layers 5] [--seed 1] [--dbt DBT_DIR] [--no-grants]
"""
import argparse
import os
import random
import shutil


def plan(n, layers_count, seed, schemas):
    """Every random draw, in the order the original generator made them: the same seed gives
    the same workload whatever is emitted."""
    rng = random.Random(seed)
    per_layer = max(1, n // layers_count)
    layers = []
    count = 0
    for layer in range(layers_count):
        size = per_layer if layer < layers_count - 1 else n - count
        names = []
        for i in range(size):
            schema = f"s{rng.randrange(schemas)}"
            names.append((schema, f"l{layer}_v{i}"))
        count += size
        layers.append(names)
    views = []
    for layer, names in enumerate(layers):
        top = layer == len(layers) - 1
        for index, (schema, table) in enumerate(names):
            parents = []
            if layer > 0:
                below = layers[layer - 1]
                # The first parent covers every view below, so no lower view is a root.
                parents = [below[index % len(below)]] + rng.sample(below, k=min(len(below), rng.randint(0, 2)))
                parents = list(dict.fromkeys(parents))
            interval = None
            if top or rng.random() < 0.2:
                interval = rng.choice(["30m", "1h", "6h", "24h"])
            test = rng.random() < 0.1
            views.append(dict(layer=layer, schema=schema, table=table, parents=parents, interval=interval, test=test))
    return views


def query(view, name):
    """The view's SQL; `name(schema, table)` renders a reference to another view (or raw.events)."""
    if view["layer"] == 0:
        return f"select id, kind, amount, created_at\nfrom {name('raw', 'events')}\nwhere kind <> '{view['table']}'"
    parents = view["parents"]
    first = name(*parents[0])
    joins = "".join(f"\njoin {name(*p)} p{j} using (id)" for j, p in enumerate(parents[1:], 1))
    return (
        f"-- layer {view['layer']}\n"
        f"with base as (\n  select id, kind, amount, created_at from {first}\n)\n"
        f"select base.id, base.kind, sum(base.amount) as amount, max(base.created_at) as created_at\n"
        f"from base{joins}\ngroup by base.id, base.kind"
    )


def fresh(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def emit_duro(views, out, schemas, grants):
    fresh(out)
    if grants:
        write(os.path.join(out, "global.conf"), "grant_select=analysts, group readers\n")
    for s in range(schemas):
        os.makedirs(os.path.join(out, f"s{s}"), exist_ok=True)
        write(os.path.join(out, f"s{s}.conf"), "diststyle=even\n" if s % 2 else "# inherits global\n")
    for v in views:
        interval = f" \u2014 {v['interval']}" if v["interval"] else ""
        sql = query(v, lambda schema, table: f"{schema}.{table}")
        write(os.path.join(out, v["schema"], f"{v['table']}{interval}.sql"), sql + "\n")
        if v["test"]:
            write(os.path.join(out, v["schema"], f"{v['table']}_test.sql"),
                  f"select count(*) > 0 as has_rows from {v['schema']}.{v['table']};\n")


def emit_dbt(views, out):
    fresh(out)
    write(os.path.join(out, "dbt_project.yml"),
          "name: duro_bench\nversion: '1.0'\nconfig-version: 2\nprofile: duro_bench\n"
          "model-paths: ['models']\ntest-paths: ['tests']\nmacro-paths: ['macros']\n")
    os.makedirs(os.path.join(out, "macros"))
    write(os.path.join(out, "macros", "generate_schema_name.sql"),
          "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
          "  {%- if custom_schema_name is none -%}{{ target.schema }}"
          "{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}\n{%- endmacro %}\n")
    os.makedirs(os.path.join(out, "models"))
    write(os.path.join(out, "models", "sources.yml"),
          "version: 2\nsources:\n  - name: raw\n    schema: raw\n    tables:\n      - name: events\n")
    os.makedirs(os.path.join(out, "tests"))

    def ref(schema, table):
        return "{{ source('raw', 'events') }}" if schema == "raw" else f"{{{{ ref('{table}') }}}}"

    for v in views:
        folder = os.path.join(out, "models", v["schema"])
        os.makedirs(folder, exist_ok=True)
        header = f"{{{{ config(materialized='table', schema='{v['schema']}') }}}}\n"
        write(os.path.join(folder, f"{v['table']}.sql"), header + query(v, ref) + "\n")
        if v["test"]:
            # A singular test fails when it returns rows: the same check as duro's.
            write(os.path.join(out, "tests", f"{v['table']}_test.sql"),
                  f"select 1 from (select count(*) as n from {ref(v['schema'], v['table'])}) c where n = 0\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schemas", type=int, default=10)
    parser.add_argument("--dbt", help="also write the equivalent dbt project here")
    parser.add_argument("--no-grants", action="store_true",
                        help="leave out global.conf (its roles do not exist on a bare PostgreSQL)")
    args = parser.parse_args()
    views = plan(args.n, args.layers, args.seed, args.schemas)
    emit_duro(views, args.out, args.schemas, not args.no_grants)
    print(f"wrote {args.n} views in {args.layers} layers to {args.out}")
    if args.dbt:
        emit_dbt(views, args.dbt)
        print(f"wrote the equivalent dbt project to {args.dbt}")


if __name__ == "__main__":
    main()
