"""``quizgen lti ...``: bringing a class in through an LMS (LTI 1.3): registering
platforms, the tool's keys and configuration, the course roster, grade passback."""

from __future__ import annotations

from datetime import timedelta

import click

from .options import emit_json, json_option, open_store


def _key_file(ctx: click.Context) -> str:
    from ..classroom.lti.keys import default_key_file

    obj = ctx.find_root().obj
    return obj.get("lti_key_file") or default_key_file(obj["db"])


@click.group("lti")
@click.option("--key-file", metavar="FILE",
              help="The LTI tool's key file (made on first use, mode 0600) [default: beside the database, "
                   "as 'quizgen serve --lti-key-file' uses it].")
@click.pass_context
def lti_group(ctx: click.Context, key_file: str | None) -> None:
    """Bring a class in through an LMS (LTI 1.3): platforms, keys, roster, grade passback.

    \b
    Example:
      quizgen lti config --url https://quiz.example.ac.kr
      quizgen lti add-platform --name moodle --issuer https://moodle.example.ac.kr \\
          --client-id AbC123 --deployment-id 1 --match student-id \\
          --auth-url https://moodle.example.ac.kr/mod/lti/auth.php \\
          --token-url https://moodle.example.ac.kr/mod/lti/token.php \\
          --jwks-url https://moodle.example.ac.kr/mod/lti/certs.php
      quizgen lti pending 1
    """
    ctx.find_root().obj["lti_key_file"] = key_file


@lti_group.command("add-platform")
@click.option("--name", required=True, help="A short name for the LMS (used by remove-platform and in lists).")
@click.option("--issuer", required=True, metavar="URL", help="The platform's issuer (iss), as the LMS shows it.")
@click.option("--client-id", required=True, metavar="ID", help="The client id the LMS gave quizgen.")
@click.option("--deployment-id", "deployments", required=True, multiple=True, metavar="ID",
              help="A deployment id the LMS launches quizgen under (repeatable).")
@click.option("--auth-url", required=True, metavar="URL", help="The platform's OIDC authentication URL.")
@click.option("--token-url", required=True, metavar="URL", help="The platform's OAuth 2 access-token URL.")
@click.option("--jwks-url", required=True, metavar="URL", help="The platform's public keyset URL.")
@click.option("--match", required=True, type=click.Choice(["student-id", "email", "sub"]),
              help="How an LMS user is found on the roster: the LMS's student id (person sourcedid, or the "
                   "custom parameter student_id), the e-mail, or only as 'lti roster' linked them.")
@json_option
@click.pass_context
def add_platform(ctx: click.Context, name: str, issuer: str, client_id: str, deployments: tuple[str, ...],
                 auth_url: str, token_url: str, jwks_url: str, match: str, as_json: bool) -> None:
    """Register an LMS that launches quizgen.

    \b
    Example:
      quizgen lti add-platform --name canvas --issuer https://canvas.instructure.com \\
          --client-id 10000000000001 --deployment-id 6:abc --match email \\
          --auth-url https://sso.canvaslms.com/api/lti/authorize_redirect \\
          --token-url https://sso.canvaslms.com/login/oauth2/token \\
          --jwks-url https://sso.canvaslms.com/api/lti/security/jwks
    """
    from ..classroom.lti.platforms import add_platform as add

    platform = add(open_store(ctx, create=True), name=name, issuer=issuer, client_id=client_id,
                   deployments=deployments, auth_url=auth_url, token_url=token_url, jwks_url=jwks_url, match=match)
    if as_json:
        emit_json(platform.to_json())
        return
    click.echo(f"Registered {platform.name} ({platform.issuer}, client {platform.client_id}, "
               f"{len(platform.deployments)} deployment(s), matched by {platform.match})", err=True)


@lti_group.command("platforms")
@json_option
@click.pass_context
def platforms(ctx: click.Context, as_json: bool) -> None:
    """List the registered LMS platforms.

    \b
    Example:
      quizgen lti platforms --json
    """
    from ..classroom.lti.platforms import list_platforms

    found = list_platforms(open_store(ctx))
    if as_json:
        emit_json([p.to_json() for p in found])
        return
    for p in found:
        click.echo(f"{p.name}\t{p.issuer}\tclient {p.client_id}\tdeployments {', '.join(p.deployments)}\t"
                   f"match {p.match}")
    if not found:
        click.echo("No platform registered ('quizgen lti add-platform').", err=True)


@lti_group.command("remove-platform")
@click.argument("name")
@json_option
@click.pass_context
def remove_platform(ctx: click.Context, name: str, as_json: bool) -> None:
    """Forget an LMS, its users, gradebook columns and unsent scores (grades stay).

    \b
    Example:
      quizgen lti remove-platform moodle
    """
    from ..classroom.lti.platforms import remove_platform as remove

    gone = remove(open_store(ctx), name)
    if as_json:
        emit_json(gone.to_json())
    click.echo(f"Removed {gone.name} ({gone.issuer})", err=True)


@lti_group.command("rotate-key")
@click.option("--keep-hours", type=click.IntRange(1, 24 * 90), default=24, show_default=True,
              help="How long the old public key stays published (platforms may have cached the key set).")
@json_option
@click.pass_context
def rotate_key(ctx: click.Context, keep_hours: int, as_json: bool) -> None:
    """Make a new tool key pair; the old public key stays in the JWKS for a while.

    Running servers pick the new key up by themselves.

    \b
    Example:
      quizgen lti rotate-key --keep-hours 48
    """
    from ..classroom.lti.keys import load_keys, rotate

    path = _key_file(ctx)
    load_keys(path)  # made on first use, like everything else that needs it
    keys, old = rotate(path, timedelta(hours=keep_hours))
    if as_json:
        emit_json({"kid": keys.kid, "retired": old, "published": [k.kid for k in keys.published]})
        return
    click.echo(f"New key {keys.kid}; {old} stays published for {keep_hours} h ({path})", err=True)


@lti_group.command("config")
@click.option("--url", required=True, metavar="URL",
              help="The address students reach quizgen serve at (https://..., as the LMS will link to it).")
@json_option
@click.pass_context
def config(ctx: click.Context, url: str, as_json: bool) -> None:
    """Print what the LMS administrator pastes in (URLs, and a Canvas developer key).

    \b
    Example:
      quizgen lti config --url https://quiz.example.ac.kr --json
    """
    import json

    from ..classroom.lti.keys import load_keys
    from ..classroom.lti.platforms import tool_config

    load_keys(_key_file(ctx))  # the key the JWKS URL will publish exists from now on
    made = tool_config(url)
    if as_json:
        emit_json(made.to_json())
        return
    click.echo(f"Login initiation URL (OIDC):  {made.login_url}")
    click.echo(f"Redirect / launch URL:        {made.launch_url}")
    click.echo(f"Deep-linking URL:             {made.deep_link_url}")
    click.echo(f"Public keyset (JWKS) URL:     {made.jwks_url}")
    click.echo("Custom parameter:             student_id=$Person.sourcedId")
    click.echo("Services:                     grades (AGS: line items, scores), names and roles (NRPS)")
    click.echo("\nCanvas developer key (Admin > Developer Keys > + LTI Key > Paste JSON):")
    click.echo(json.dumps(made.canvas, indent=2, ensure_ascii=False))


@lti_group.command("unmatched")
@json_option
@click.pass_context
def unmatched(ctx: click.Context, as_json: bool) -> None:
    """LMS users who launched quizgen but are not on the roster.

    Add them with 'quizgen roster add' (their LMS student id) or 'quizgen lti roster'.

    \b
    Example:
      quizgen lti unmatched
    """
    from ..classroom.lti.people import unmatched as find

    users = find(open_store(ctx))
    if as_json:
        emit_json([u.to_json() for u in users])
        return
    for u in users:
        click.echo(f"{u.platform}\t{u.name or ''}\t{u.email or ''}\tstudent id {u.sourcedid or '-'}\tsub {u.sub}")
    click.echo(f"{len(users)} LMS user(s) not on the roster", err=True)


@lti_group.command("pending")
@click.argument("quiz", metavar="[QUIZ]", required=False)
@json_option
@click.pass_context
def pending(ctx: click.Context, quiz: str | None, as_json: bool) -> None:
    """Scores that have not reached the LMS yet, and why.

    \b
    Example:
      quizgen lti pending 1
    """
    from ..classroom.lti.passback import pending as find

    rows = find(open_store(ctx), quiz)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    for r in rows:
        why = r.error or "not sent yet"
        click.echo(f"quiz {r.quiz_id}\t{r.student}\t{r.platform}\t{r.score:g}/{r.max_score:g}\t"
                   f"{r.tries} tr{'y' if r.tries == 1 else 'ies'}\t{why}")
    click.echo(f"{len(rows)} score(s) waiting for the LMS", err=True)


@lti_group.command("push")
@json_option
@click.pass_context
def push(ctx: click.Context, as_json: bool) -> None:
    """Send every waiting score to the LMS now (servers also send them by themselves).

    Exit 75 when some could not be sent (they stay queued).

    \b
    Example:
      quizgen lti push
    """
    from ..classroom.lti.keys import load_keys
    from ..classroom.lti.passback import send_all
    from ..classroom.lti.services import LmsClient

    client = LmsClient()
    try:
        report = send_all(open_store(ctx), load_keys(_key_file(ctx), create=False), client, force=True)
    finally:
        client.close()
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(f"{report.sent} score(s) sent, {report.failed} failed, {report.waiting} without a gradebook "
                   "column ('quizgen lti pending' says why)", err=True)
    if report.failed or report.waiting:
        ctx.exit(75)


@lti_group.command("roster")
@click.argument("quiz", metavar="QUIZ")
@json_option
@click.pass_context
def roster(ctx: click.Context, quiz: str, as_json: bool) -> None:
    """Read the course's members from the LMS (NRPS) into the roster.

    New students get a token, printed once on stdout (LMS students never need it).

    \b
    Example:
      quizgen lti roster 1
    """
    from ..classroom.lti.keys import load_keys
    from ..classroom.lti.people import import_roster
    from ..classroom.lti.services import LmsClient

    client = LmsClient()
    try:
        result = import_roster(open_store(ctx), load_keys(_key_file(ctx), create=False), client, quiz)
    finally:
        client.close()
    if as_json:
        emit_json(result.to_json())
        return
    for t in result.added:
        click.echo(f"{t.student}\t{t.name}\t{t.token}")
    click.echo(f"{result.members} learner(s) in the LMS; {len(result.added)} new on the roster, {result.linked} "
               f"linked to their LMS account; {len(result.unmatched)} without a student id"
               + (f" ({', '.join(result.unmatched[:5])})" if result.unmatched else "")
               + (f". Give them the quiz: quizgen quiz add-students {quiz} --roster-all" if result.added else ""),
               err=True)
