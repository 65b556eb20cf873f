"""Cross-validation on JAX's multi-process runtime, each process holding its own rows.

Every process runs this same script (one program, many processes, as JAX's
multi-controller runtime expects); each reads only its block of rows, and
`jaxreg.cross_validate` solves all folds in one compiled call sharded over
every device of every process. Every process gets the same, complete result.

On one machine, two processes talking over localhost:

    export ARGS="--coordinator localhost:4321 --num-processes 2 --cpu"
    python examples/multi_process_cv.py $ARGS --process-id 0 &
    python examples/multi_process_cv.py $ARGS --process-id 1

On a cluster, start one copy per host (or per GPU) with the same
--coordinator (an address of the first host), its own --process-id and the
total --num-processes; under launchers that JAX recognizes (SLURM, Open MPI,
Kubernetes, TPU pods) leave all three out and they are read from the
environment.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coordinator", default=None, help="host:port of process 0")
    parser.add_argument("--num-processes", type=int, default=None)
    parser.add_argument("--process-id", type=int, default=None)
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="run on CPU devices, with gloo collectives between the processes",
    )
    parser.add_argument("--cpu-devices", type=int, default=1, help="CPU devices per process")
    parser.add_argument("--out", default=None, help="save the curves to this .npz file")
    return parser.parse_args(argv)


def my_rows(n: int) -> slice:
    """This process's block of rows: blocks in process order, of equal size."""
    size = n // jax.process_count()
    if size * jax.process_count() != n:
        raise ValueError(f"{n} rows do not split evenly over {jax.process_count()} processes")
    return slice(jax.process_index() * size, (jax.process_index() + 1) * size)


def main(argv=None) -> None:
    args = parse(argv)
    jax.config.update("jax_enable_x64", True)
    if args.cpu:
        jax.config.update("jax_platforms", "cpu")
        jax.config.update("jax_num_cpu_devices", args.cpu_devices)
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    import jaxreg  # noqa: PLC0415 (after the runtime is up: nothing may touch a device before)

    # Rows across the processes, the fold batch across each process's devices.
    devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
    grid = np.array(devices).reshape(jax.process_count(), -1)
    mesh = jax.sharding.Mesh(grid, ("rows", "batch"))
    by_rows = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("rows"))

    # A real job would read its own rows from its own file; here each process
    # keeps its block of the shipped table (the first 440 of its 442 rows).
    X_all, y_all, names = jaxreg.datasets.load_diabetes()
    n = 440
    mine = my_rows(n)
    X = jax.make_array_from_process_local_data(by_rows, X_all[mine], (n, X_all.shape[1]))
    y = jax.make_array_from_process_local_data(by_rows, y_all[mine], (n,))

    # Every process passes the same arguments but its rows: the folds are
    # drawn from n and the seed, so they agree everywhere.
    res = jaxreg.cross_validate(
        X, y, "elastic_net", l1_ratio=[0.5, 0.9, 1.0], cv=5, seed=0, standardize=True, mesh=mesh
    )
    if jax.process_index() == 0:
        chosen = np.asarray(res.best.coef)
        print(f"{jax.process_count()} processes, {len(devices)} devices")
        print(f"alpha_min {float(res.alpha_min):.5g}, l1_ratio {float(res.l1_ratio_min)}")
        print("selected:", ", ".join(name for name, c in zip(names, chosen, strict=True) if c != 0))
    if args.out is not None and jax.process_index() == 0:
        np.savez(args.out, mean=res.mean, alpha_min=res.alpha_min, coef=res.best.coef)


if __name__ == "__main__":
    main()
