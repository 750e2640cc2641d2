"""Jinja in inventory variables (templating.py) and the credential preflight (credentials.py).

On the code before templating, `ansible_password: "{{ vault_winrm_password }}"` was the password
itself (test_templated_password_is_the_other_variable fails there: the spec's password is the
literal text), and a missing env variable was found per host when the engine built its specs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, Undefined

from remediate.core.errors import ConfigError, RenderError
from remediate.core.render import Renderer
from remediate.inventory import MASK, Inventory
from remediate.inventory.connection import connection_spec
from remediate.inventory.credentials import MAX_LISTED, CredentialResolver
from remediate.inventory.templating import MAX_DEPTH


def write(tmp_path: Path, inventory: str, **group_vars: str) -> Path:
    (tmp_path / "inv.yml").write_text(inventory)
    if group_vars:
        (tmp_path / "group_vars").mkdir(exist_ok=True)
        for name, text in group_vars.items():
            (tmp_path / "group_vars" / f"{name}.yml").write_text(text)
    return tmp_path / "inv.yml"


BASIC = """\
all:
  children:
    windows:
      hosts:
        w1: {ansible_host: 127.0.0.1}
        w2: {ansible_host: 127.0.0.2, site: branch}
      vars:
        ansible_connection: winrm
        ansible_port: 5985
        ansible_user: admin
        site: hq
"""


def test_templated_password_is_the_other_variable(tmp_path: Path) -> None:
    inv = Inventory.load(
        write(
            tmp_path,
            BASIC,
            windows='ansible_password: "{{ vault_winrm_password }}"\nvault_winrm_password: "V4ult!pw"\n',
        )
    )
    spec = connection_spec(inv.hosts["w1"], CredentialResolver())
    assert spec.password == "V4ult!pw"
    # the chain ends at a plain literal (despite its name, not a vault value): that one warns
    assert inv.warnings == [
        f"{tmp_path}/group_vars/windows.yml:2: vault_winrm_password is a literal password (it feeds"
        " ansible_password; discouraged: use {env: VAR}, {file: PATH}, a prompt or Ansible Vault)"
    ]
    h = inv.hosts["w1"]
    assert h.masked_vars()["ansible_password"] == MASK and "V4ult" not in json.dumps(inv.to_dict())
    ctx = h.template_vars()
    assert isinstance(ctx["ansible_password"], Undefined) and isinstance(
        ctx["vault_winrm_password"], Undefined
    )


def test_precedence_and_recursion(tmp_path: Path) -> None:
    inv = Inventory.load(
        write(
            tmp_path,
            BASIC,
            all='domain: lab.test\nsite_kms: "kms-{{ site }}.{{ domain }}"\n',
            windows='kms_host: "{{ site_kms }}"\nkms_port: "{{ base_port + 88 }}"\nbase_port: 1600\n'
            'kms_list: ["{{ kms_host }}", "backup.{{ domain }}"]\n',
        ),
        extra_vars={"domain": "corp.test"},  # -e wins over group_vars, and templates see the winner
    )
    w1, w2 = inv.hosts["w1"], inv.hosts["w2"]
    assert w1.vars["kms_host"] == "kms-hq.corp.test"
    assert w2.vars["kms_host"] == "kms-branch.corp.test"  # host var beats group var
    assert w1.vars["kms_port"] == 1688  # one {{ expression }} keeps its type
    assert w1.vars["kms_list"] == ["kms-hq.corp.test", "backup.corp.test"]
    assert w1.masked_vars()["kms_host"] == "{{ site_kms }}"  # like ansible-inventory: the text
    assert w1.template_vars()["kms_host"] == "kms-hq.corp.test"


def test_cycle_names_file_line_and_chain(tmp_path: Path) -> None:
    path = write(
        tmp_path, BASIC, windows='a: "{{ b }}"\nb: "x{{ c }}"\nc: "{{ a }}"\nansible_user: "{{ a }}"\n'
    )
    with pytest.raises(ConfigError) as e:
        Inventory.load(path)
    text = str(e.value)
    assert "group_vars/windows.yml:4: ansible_user:" in text
    assert "loop: a -> b -> c -> a" in text


def test_depth_bound(tmp_path: Path) -> None:
    chain = "".join(f'v{i}: "{{{{ v{i + 1} }}}}"\n' for i in range(MAX_DEPTH + 5)) + "v25: end\n"
    path = write(tmp_path, BASIC, windows=chain + 'ansible_user: "{{ v0 }}"\n')
    with pytest.raises(ConfigError, match=f"nest deeper than {MAX_DEPTH}"):
        Inventory.load(path)


def test_undefined_connection_variable_fails_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, BASIC, windows='ansible_password: "{{ vault_winrm_pasword }}"\n')
    with pytest.raises(ConfigError) as e:
        Inventory.load(path)
    assert "windows.yml:1: ansible_password:" in str(e.value)
    assert "'vault_winrm_pasword' is undefined" in str(e.value)


def test_undefined_playbook_variable_fails_only_when_used(tmp_path: Path) -> None:
    inv = Inventory.load(write(tmp_path, BASIC, windows='kms_host: "{{ site_kms }}"\nunused: 1\n'))
    ctx = inv.hosts["w1"].template_vars()
    r = Renderer()
    assert r.script("Write-Output {{ unused }}", "powershell", ctx) == "Write-Output 1"
    with pytest.raises(RenderError) as e:
        r.script("slmgr /skms {{ kms_host }}", "cmd", ctx)
    assert "windows.yml:1: kms_host:" in str(e.value) and "'site_kms' is undefined" in str(e.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ site.__class__ }}",
        "{{ lookup.__globals__ }}",
        "{{ site.format.__self__ }}",
    ],
)
def test_sandbox_refuses_attribute_access(tmp_path: Path, template: str) -> None:
    path = write(tmp_path, BASIC, windows=f'ansible_user: "{template}"\n')
    with pytest.raises(ConfigError, match=r"sandbox|undefined"):
        Inventory.load(path)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ 1/0 }}", "ZeroDivisionError: division by zero"),
        ("{{ (10**100000)|string }}", "wider than"),
        ("{{ range(10000000000)|list }}", "MAX_RANGE"),
        ("{{ 'x' * 100000000 }}", "would be longer than"),
        ("a{% for i in range(100000) %}xx{% endfor %}", "template value too long: 200001 characters"),
    ],
)
def test_evaluation_errors_and_bounds_are_config_errors(tmp_path: Path, template: str, message: str) -> None:
    """Before: ZeroDivisionError, ValueError, OverflowError tracebacks (only TemplateError was
    caught), and a 200,000-character value was accepted."""
    path = write(tmp_path, BASIC, windows=f'ansible_user: "{template}"\n')
    with pytest.raises(ConfigError) as e:
        Inventory.load(path)
    assert "windows.yml:1: ansible_user:" in str(e.value) and message in str(e.value)


def test_env_lookup_and_secret_derived_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_KMS_FROM_ENV", "kms.env.test")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    inv = Inventory.load(
        write(
            tmp_path,
            BASIC,
            windows="kms_host: \"{{ lookup('env', 'SITE_KMS_FROM_ENV') }}\"\n"
            "other: \"{{ lookup('env', 'NOT_SET_ANYWHERE', default='fallback') }}\"\n"
            'vault_password: "Top$ecret"\nbanner: "pw={{ vault_password }}"\n',
        )
    )
    h = inv.hosts["w1"]
    assert (h.vars["kms_host"], h.vars["other"]) == ("kms.env.test", "fallback")
    # computed from a secret-named variable: a secret too (masked, hidden from templates)
    assert h.masked_vars()["banner"] == MASK and isinstance(h.template_vars()["banner"], Undefined)


def test_variables_a_password_reads_are_secrets_and_the_literal_warns(tmp_path: Path) -> None:
    """Before: `remediate inventory host` printed "winrm_cred": "S3cretPW!", templates could read it,
    the redactor did not know it, and no literal-password warning (the password was templated)."""
    inv = Inventory.load(
        write(
            tmp_path,
            BASIC,
            windows='ansible_password: "{{ winrm_cred }}"\nwinrm_cred: "{{ cred_base }}"\n'
            'cred_base: "S3cretPW!"\nbanner: "x{{ cred_base }}"\nkms_host: kms.corp.test\n',
        )
    )
    h = inv.hosts["w1"]
    assert "S3cretPW!" not in json.dumps(inv.to_dict()) and "S3cretPW!" not in repr(h)
    for name in ("winrm_cred", "cred_base", "banner"):  # read by the password, or computed from it
        assert h.masked_vars()[name] == MASK and h.is_secret(name)
        assert isinstance(h.template_vars()[name], Undefined)
    assert not h.is_secret("kms_host") and h.template_vars()["kms_host"] == "kms.corp.test"
    assert len(inv.warnings) == 1 and "windows.yml:3: cred_base is a literal password" in inv.warnings[0]
    assert "S3cretPW!" not in inv.warnings[0]


def test_env_or_vault_at_the_end_of_the_chain_does_not_warn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WINRM_CRED_ENV", "from-env")
    inv = Inventory.load(
        write(
            tmp_path,
            BASIC,
            windows='ansible_password: "{{ winrm_cred }}"\n'
            "winrm_cred: \"{{ lookup('env', 'WINRM_CRED_ENV') }}\"\n",
        )
    )
    assert inv.warnings == [] and inv.hosts["w1"].vars["ansible_password"] == "from-env"


def test_secret_hidden_from_templates_is_a_clear_error_not_the_default(tmp_path: Path) -> None:
    """A playbook variable named like a secret, set in the inventory: using it must fail naming
    it (before, the host's value was removed and the playbook default silently took its place)."""
    inv = Inventory.load(write(tmp_path, BASIC, windows="api_token: T0ken-Value\n"))
    ctx = {"api_token": "playbook-default", **inv.hosts["w1"].template_vars()}
    with pytest.raises(RenderError, match="'api_token' is a secret"):
        Renderer().script("use {{ api_token }}", "cmd", ctx)


def test_exact_env_lookup_password_stays_a_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WINRM_PW_REF", "from-env")
    path = write(tmp_path, BASIC, windows="ansible_password: \"{{ lookup('env', 'WINRM_PW_REF') }}\"\n")
    h = Inventory.load(path).hosts["w1"]
    assert h.vars["ansible_password"].startswith("{{")  # the resolver reads it, nothing copies it
    assert connection_spec(h, CredentialResolver()).credential_id == "admin@env:WINRM_PW_REF"


# -- preflight -------------------------------------------------------------------------------------


def test_preflight_lists_every_missing_source_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hosts = "".join(f"        m{i:02}: {{remediate_password_env: MISSING_PW_{i}}}\n" for i in range(12))
    monkeypatch.setenv("PRESENT_PW", "here")
    for i in range(12):
        monkeypatch.delenv(f"MISSING_PW_{i}", raising=False)
    monkeypatch.delenv("ABSENT_TEMPLATED", raising=False)
    path = write(
        tmp_path,
        BASIC.replace("      vars:", hosts + "      vars:") + "    others:\n      hosts:\n"
        "        ok1: {remediate_password_env: PRESENT_PW}\n"
        "        f1: {ansible_password: {file: nowhere.txt}}\n"
        '        t1: {ansible_password: "{{ pw_src }}",\n'
        "             pw_src: \"{{ lookup('env', 'ABSENT_TEMPLATED') }}\"}\n",
    )
    inv = Inventory.load(path)
    creds = CredentialResolver()
    with pytest.raises(ConfigError) as e:
        creds.preflight(
            [inv.hosts[n] for n in ("f1", "t1", "ok1", *(f"m{i:02}" for i in range(12)))], interactive=False
        )
    text = str(e.value)
    assert text.startswith("14 host(s) have no usable password")
    assert "host f1: ansible_password: cannot read password file" in text
    assert "host t1: ansible_password: environment variable ABSENT_TEMPLATED is not set" in text
    assert text.count("\n  host ") == MAX_LISTED and f"and {14 - MAX_LISTED} more" in text


def test_preflight_prompts_once_or_refuses_without_a_terminal(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        BASIC.replace(
            "        ansible_user: admin\n",
            "        ansible_user: admin\n        remediate_password_prompt: true\n",
        ),
    )
    hosts = list(Inventory.load(path).hosts.values())
    with pytest.raises(ConfigError) as e:
        CredentialResolver(prompt=lambda label: "typed").preflight(hosts, interactive=False)
    assert "host w1: remediate_password_prompt: password prompt 'admin'" in str(e.value)
    assert "not interactive" in str(e.value)
    asked: list[str] = []
    creds = CredentialResolver(prompt=lambda label: asked.append(label) or "typed")
    creds.preflight(hosts, interactive=True)
    assert asked == ["Password for admin: "]
    assert connection_spec(hosts[1], creds).password == "typed" and len(asked) == 1  # cached


def test_each_template_text_compiles_once_per_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every host parsed (twice) and compiled each group template again, in a new sandbox
    each time: 10,000 hosts with three templated group vars took 27 s to load instead of 5."""
    parsed: list[str] = []
    real_parse = Environment.parse

    def counting_parse(self: Environment, source: str, *args: Any, **kwargs: Any) -> Any:
        parsed.append(source)
        return real_parse(self, source, *args, **kwargs)

    monkeypatch.setattr(Environment, "parse", counting_parse)
    hosts = "".join(f"        h{i:03}: {{ansible_host: 10.0.0.{i}}}\n" for i in range(50))
    inv = Inventory.load(
        write(
            tmp_path,
            "all:\n  children:\n    windows:\n      hosts:\n" + hosts,
            windows='site_kms: kms.corp\nkms_host: "{{ site_kms }}"\nkms_fqdn: "{{ kms_host }}.test"\n'
            'note: "{{ inventory_hostname }}-{{ site_kms }}"\n',
        )
    )
    assert (
        inv.hosts["h007"].vars["note"] == "h007-kms.corp"
        and inv.hosts["h049"].vars["kms_fqdn"] == "kms.corp.test"
    )
    assert sorted(parsed) == sorted(
        ["{{ site_kms }}", "{{ kms_host }}.test", "{{ inventory_hostname }}-{{ site_kms }}"]
    )
