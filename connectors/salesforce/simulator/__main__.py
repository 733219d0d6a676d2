"""``python -m connectors.salesforce.simulator``: a simulated Salesforce org on a port."""

from __future__ import annotations

from connectors.salesforce.simulator.app import create_simulator
from connectors.salesforce.simulator.oauth import CREDENTIALS


def main(argv: list[str] | None = None) -> None:
    """``python -m connectors.salesforce.simulator [--port P] [--seed S] [--deals N]``."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="A simulated Salesforce org")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--account", choices=("minimal", "standard", "full"), default=None)
    parser.add_argument("--history-batch", type=int, default=None, help="child batch size")
    parser.add_argument("--rate-limit", action="store_true", help="a Developer allocation")
    parser.add_argument("--single-currency", action="store_true")
    parser.add_argument("--record-types", action="store_true", help="one per sales process")
    parser.add_argument("--faults", default=None, help='e.g. "5xx=0.1,429every=7,drop=0.01"')
    args = parser.parse_args(argv)
    sim = create_simulator(
        seed=args.seed,
        deals=args.deals,
        faults=args.faults,
        deletions=True,
        account=args.account,
        history_batch=args.history_batch,
        rate_limit=args.rate_limit,
        multi_currency=False if args.single_currency else None,
        record_types=True if args.record_types else None,
    )
    print(f"login URL: http://127.0.0.1:{args.port}")
    print(" ".join(f"--credential {k}={v}" for k, v in CREDENTIALS.items()))
    uvicorn.run(sim.app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
