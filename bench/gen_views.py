#!/usr/bin/env python3
"""Generates a layered duro views directory of N views, reproducibly from a seed.

Layer 0 reads a raw source table; every view of layer L reads 1-3 views of layer L-1. The top
layer has intervals (roots must), lower layers mostly inherit. About 10% of tables have tests,
every schema has a config, and a global config grants select.

usage: gen_views.py N OUT_DIR [--layers 5] [--seed 1]
"""
import argparse
import os
import random
import shutil


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schemas", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    per_layer = max(1, args.n // args.layers)
    layers = []
    count = 0
    for layer in range(args.layers):
        size = per_layer if layer < args.layers - 1 else args.n - count
        names = []
        for i in range(size):
            schema = f"s{rng.randrange(args.schemas)}"
            names.append((schema, f"l{layer}_v{i}"))
        count += size
        layers.append(names)
    with open(os.path.join(args.out, "global.conf"), "w") as f:
        f.write("grant_select=analysts, group readers\n")
    for s in range(args.schemas):
        os.makedirs(os.path.join(args.out, f"s{s}"), exist_ok=True)
        with open(os.path.join(args.out, f"s{s}.conf"), "w") as f:
            f.write("diststyle=even\n" if s % 2 else "# inherits global\n")
    for layer, names in enumerate(layers):
        top = layer == len(layers) - 1
        for index, (schema, table) in enumerate(names):
            if layer == 0:
                query = (
                    f"select id, kind, amount, created_at\n"
                    f"from raw.events\nwhere kind <> '{table}'"
                )
            else:
                below = layers[layer - 1]
                # The first parent covers every view below, so no lower view is a root.
                parents = [below[index % len(below)]] + rng.sample(below, k=min(len(below), rng.randint(0, 2)))
                parents = list(dict.fromkeys(parents))
                first = f"{parents[0][0]}.{parents[0][1]}"
                joins = "".join(
                    f"\njoin {p[0]}.{p[1]} p{j} using (id)" for j, p in enumerate(parents[1:], 1)
                )
                query = (
                    f"-- layer {layer}\n"
                    f"with base as (\n  select id, kind, amount, created_at from {first}\n)\n"
                    f"select base.id, base.kind, sum(base.amount) as amount, max(base.created_at) as created_at\n"
                    f"from base{joins}\ngroup by base.id, base.kind"
                )
            interval = ""
            if top or rng.random() < 0.2:
                interval = f" \u2014 {rng.choice(['30m', '1h', '6h', '24h'])}"
            with open(os.path.join(args.out, schema, f"{table}{interval}.sql"), "w") as f:
                f.write(query + "\n")
            if rng.random() < 0.1:
                with open(os.path.join(args.out, schema, f"{table}_test.sql"), "w") as f:
                    f.write(f"select count(*) > 0 as has_rows from {schema}.{table};\n")
    print(f"wrote {args.n} views in {args.layers} layers to {args.out}")


if __name__ == "__main__":
    main()
