"""`haven partner keygen` and `haven referral open`: what a partner runs, with no server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.cli_support import command_group
from app.referrals.packet import PacketError, generate_keypair, load_private_key, open_packet

partner_cli = command_group("Partner organisations' keys.")
referral_cli = command_group("Referral packets.")
_err = Console(stderr=True)


@partner_cli.command("keygen")
def keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (0600).")],
) -> None:
    """Make a partner's X25519 key pair: the private key to --out, the public key printed."""
    try:
        public = generate_keypair(out)
    except FileExistsError:
        _err.print(f"[red]{out} exists; refusing to overwrite a private key.[/]")
        raise typer.Exit(1) from None
    _err.print(f"Private key written to {out}. Keep it offline; it opens every packet sent to you.")
    typer.echo(public)


@referral_cli.command("open")
def open_(
    packet: Annotated[Path, typer.Argument(help="The packet file received from Haven.")],
    key: Annotated[Path, typer.Option("--key", help="Your private key file.")],
) -> None:
    """Decrypt a referral packet and print its contents as JSON."""
    try:
        opened = open_packet(packet.read_bytes(), load_private_key(key))
    except (PacketError, OSError) as exc:
        _err.print(f"[red]Cannot open the packet: {exc}[/]")
        raise typer.Exit(1) from None
    typer.echo(json.dumps({**opened.header, **opened.body}, indent=2, ensure_ascii=False))
