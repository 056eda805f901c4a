"""The web console in Chromium, through the gateway only (issue 16): two members sign up, link their bank
accounts, charge and send; one pays at a merchant, the merchant refunds part of it, the admin settles the day
and the merchant sees its payout, its CSV and its webhook deliveries; the admin reconciles and compares money per
region; the other member pays and takes it all back. Also: an expired access
token is renewed once, then the console asks to log in again; the language switch changes the words.

Every page is saved as a screenshot under the test's directory, to read when a step fails; with
`PAY_CONSOLE_SCREENSHOTS=docs` the README's screenshots of each role are written to `docs/` as well.

The bank's customers exist before the platform knows them: their accounts are opened at the bank simulator
(which the gateway does not expose), as a bank's customer would have them.
"""

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from e2e_support import PASSWORD

from system import RunningSystem

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ADMIN = ("admin@pay.local", "pay-admin-local")
# A region of the console's members only, whatever other tests registered.
REGION = f"Console-{uuid.uuid4().hex[:6]}"
# Recharges and settlements wait for the bank: allow them more than a click.
SLOW_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "the browser tests need Chromium: apt-get install -y chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


class Console:
    """One person's browser tab on the console, with a screenshot of each page it reaches."""

    def __init__(self, context: BrowserContext, gateway: str, shots: Path, who: str) -> None:
        self.context = context
        self.page: Page = context.new_page()
        self.shots = shots
        self.who = who
        self.taken = 0
        # What the browser refused under the gateway's Content-Security-Policy: the console must need nothing of it.
        self.refused: list[str] = []
        self.page.on(
            "console",
            lambda message: self.refused.append(message.text) if "Content Security Policy" in message.text else None,
        )
        self.page.goto(gateway + "/")
        expect(self.card("session.loginTitle")).to_be_visible()

    def card(self, key: str) -> Locator:
        return self.page.locator(f'section[data-card="{key}"]')

    def shot(self, step: str) -> Path:
        self.taken += 1
        path = self.shots / f"{self.who}-{self.taken:02d}-{step}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def fill(self, form: Locator, **values: str) -> None:
        for name, value in values.items():
            form.locator(f'[name="{name}"]').fill(value)

    def submit(self, form: Locator, outcome: str = "SUCCEEDED") -> None:
        form.locator('button[type="submit"]').click()
        expect(form.locator(f'[data-outcome="{outcome}"]')).to_be_visible(timeout=SLOW_MS)

    def sign_up(self, name: str, email: str, *, corporate: bool = False) -> str:
        form = self.card("session.signupTitle").locator("form")
        self.fill(form, name=name, email=email, address=REGION, password=PASSWORD)
        if corporate:
            form.locator('[name="isCorp"]').check()
        form.locator('button[type="submit"]').click()
        expect(self.page.locator("[data-wallet-balance]")).to_be_visible(timeout=SLOW_MS)
        return str(self.page.locator("[data-membership-id]").get_attribute("data-membership-id"))

    def log_in(self, email: str, password: str) -> None:
        form = self.card("session.loginTitle").locator("form")
        self.fill(form, email=email, password=password)
        form.locator('button[type="submit"]').click()
        expect(self.page.locator("#logout")).to_be_visible()

    def link_bank(self, account: str) -> None:
        form = self.card("bank.title").locator("form")
        self.fill(form, bankAccountNumber=account)
        form.locator('button[type="submit"]').click()
        expect(self.page.locator("[data-bank-balance]")).to_be_visible(timeout=SLOW_MS)

    def tab(self, name: str) -> None:
        self.page.locator(f'[data-tab="{name}"]').click()


def open_bank_account(system: RunningSystem, holder: str, balance: int) -> str:
    account = f"WEB-{uuid.uuid4().hex[:10]}"
    opened = httpx.post(
        f"{system.url('bank')}/bank/accounts",
        json={"bankName": "KB", "bankAccountNumber": account, "holderName": holder, "balance": balance},
    )
    assert opened.status_code == 201, opened.text
    return account


def email() -> str:
    return f"web-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    path = tmp_path / "screenshots"
    path.mkdir()
    return path


def publish(shot: Path, name: str) -> None:
    """The README's picture of a role, when asked for (`PAY_CONSOLE_SCREENSHOTS=docs`)."""
    target = os.environ.get("PAY_CONSOLE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / name).write_bytes(shot.read_bytes())


def test_a_day_of_the_platform_in_the_console(system: RunningSystem, browser: Browser, shots: Path) -> None:
    gateway = system.url("gateway")
    people = {who: browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}) for who in "ABMS"}
    hong, kim, shop, admin = (
        Console(people[who], gateway, shots, name)
        for who, name in zip("ABMS", ("hong", "kim", "merchant", "admin"), strict=True)
    )

    hong.sign_up("Hong Gildong", email())
    kim_id = kim.sign_up("Kim Cheolsu", email())
    hong.link_bank(open_bank_account(system, "Hong Gildong", 1_000_000))
    kim.link_bank(open_bank_account(system, "Kim Cheolsu", 100_000))
    kim.shot("linked")

    charge = hong.card("charge.title").locator("form").first
    hong.fill(charge, amount="50000")
    hong.submit(charge)
    expect(hong.page.locator('[data-wallet-balance="50000"]')).to_be_visible()
    to_member = hong.card("send.title").locator("form").first
    hong.fill(to_member, toMembershipId=kim_id, amount="20000")
    hong.submit(to_member)
    expect(hong.page.locator('[data-wallet-balance="30000"]')).to_be_visible()
    kim.card("wallet.title").locator("button").click()
    expect(kim.page.locator('[data-wallet-balance="20000"]')).to_be_visible()
    expect(kim.page.locator('[data-notices] [data-kind="transfer.received"]')).to_be_visible(timeout=SLOW_MS)
    kim.shot("received")

    shop.sign_up("Cafe Pay", email(), corporate=True)
    shop.tab("merchant")
    register = shop.card("merchant.register").locator("form")
    shop.fill(
        register,
        name="Cafe Pay",
        contact="02-555-0101",
        bankAccountNumber=open_bank_account(system, "Cafe Pay", 0),
        # Nothing listens there: each delivery fails and is tried again, and the merchant sees every try.
        webhookUrl="http://127.0.0.1:9/pay-webhooks",
    )
    register.locator('button[type="submit"]').click()
    expect(register.locator("[data-webhook-secret]")).to_have_text(re.compile(r"^whsec_"), timeout=SLOW_MS)
    franchise_id = str(register.locator("[data-franchise-id]").get_attribute("data-franchise-id"))
    shop.shot("registered")

    pay = hong.card("pay.title").locator("form").first
    hong.fill(pay, franchiseId=franchise_id, requestPrice="12000")
    hong.submit(pay, "APPROVED")
    expect(hong.page.locator('[data-wallet-balance="18000"]')).to_be_visible()
    expect(hong.page.locator('[data-notices] [data-kind="payment.approved"]')).to_be_visible(timeout=SLOW_MS)
    publish(hong.shot("paid"), "console-member.png")

    shop.card("merchant.franchises").get_by_role("button").first.click()
    refund = shop.page.locator('[data-part="payments"] tbody form').first
    shop.fill(refund, amount="2000")
    shop.submit(refund)
    shop.shot("refunded")

    admin.log_in(*ADMIN)
    settle = admin.card("admin.settlement").locator("form")
    settle.locator('button[type="submit"]').click()
    line = settle.locator("tbody tr", has_text=franchise_id)
    # (12,000 − 2,000) less the 3.5 % fee.
    expect(line).to_contain_text("9,650 won", timeout=SLOW_MS)
    expect(line).to_contain_text("Succeeded")
    reconcile = admin.card("admin.reconcile").locator("form")
    reconcile.locator('button[type="submit"]').click()
    expect(reconcile.locator('[data-reconciliation="holds"]')).to_be_visible(timeout=SLOW_MS)
    regions = admin.card("admin.regions").locator("form")
    admin.fill(regions, address=REGION)
    regions.locator('button[type="submit"]').click()
    expect(regions.locator("[data-money-sum]")).to_have_count(2, timeout=SLOW_MS)
    publish(admin.shot("settled"), "console-admin.png")

    shop.card("merchant.franchises").get_by_role("button").first.click()
    expect(shop.page.locator('[data-part="settlements"] [data-payout="9650"]')).to_be_visible()
    with shop.page.expect_download() as downloaded:
        shop.page.locator('[data-part="settlements"] [data-report]').click()
    report = Path(downloaded.value.path()).read_text().splitlines()
    assert report[0] == "settlementId,franchiseId,paymentId,price,refunded,fee"
    assert [row.split(",")[3:] for row in report[1:]] == [["12000", "2000", "350"]]
    deliveries = shop.page.locator('[data-part="deliveries"]')
    approved = deliveries.locator("tbody tr", has_text="payment.approved")
    expect(deliveries.locator("tbody tr", has_text="settlement.line-paid")).to_be_visible()
    approved.get_by_role("button", name="Send again").click()
    expect(approved.locator(".outcome")).to_contain_text("Pending", timeout=SLOW_MS)
    publish(shop.shot("payout"), "console-merchant.png")
    kim_pays = kim.card("pay.title").locator("form").first
    kim.fill(kim_pays, franchiseId=franchise_id, requestPrice="5000")
    kim.submit(kim_pays, "APPROVED")
    expect(kim.page.locator('[data-wallet-balance="15000"]')).to_be_visible()
    kim.card("pay.title").locator("tbody form").locator('button[type="submit"]').click()
    expect(kim.card("pay.title").locator("tbody")).to_contain_text("Cancelled (refunded)", timeout=SLOW_MS)
    expect(kim.page.locator('[data-wallet-balance="20000"]')).to_be_visible()
    kim.shot("refunded")
    with kim.page.expect_response("**/membership/logout") as logged_out:
        kim.page.locator("#logout").click()
    assert logged_out.value.status == 204
    expect(kim.card("session.loginTitle")).to_be_visible()

    assert [console.refused for console in (hong, kim, shop, admin)] == [[], [], [], []]
    for context in people.values():
        context.close()


def test_an_expired_access_token_is_renewed_once_then_the_console_asks_to_log_in(
    system: RunningSystem, browser: Browser, shots: Path
) -> None:
    context = browser.new_context(locale="en-US")
    member = Console(context, system.url("gateway"), shots, "expiry")
    member_id = member.sign_up("Lee", email())
    refreshes: list[str] = []
    member.page.on("request", lambda request: refreshes.append(request.url) if "refresh-token" in request.url else None)
    expired = {
        "status": 401,
        "content_type": "application/problem+json",
        "body": json.dumps(
            {
                "type": "about:blank",
                "title": "The access token is invalid or expired",
                "status": 401,
                "code": "invalid-token",
            }
        ),
    }

    reload = member.card("wallet.title").locator("button")
    # The wallet's first load, after signing up, is over: only the reload below meets the expired token.
    expect(member.page.locator('[data-wallet-balance="0"]')).to_be_visible()

    member.page.route(f"**/money/{member_id}", lambda route: route.fulfill(**expired), times=1)
    with member.page.expect_response(
        lambda answer: answer.url.endswith(f"/money/{member_id}") and answer.ok and bool(refreshes)
    ):
        reload.click()
    expect(member.page.locator('[data-wallet-balance="0"]')).to_be_visible()
    assert len(refreshes) == 1, refreshes

    member.page.route(f"**/money/{member_id}", lambda route: route.fulfill(**expired))
    member.page.route("**/membership/refresh-token", lambda route: route.fulfill(**expired))
    reload.click()
    expect(member.card("session.loginTitle")).to_contain_text("Your session has ended: log in again.")
    assert len(refreshes) == 2, refreshes
    member.shot("asked-to-log-in")
    context.close()


def test_the_language_switch_changes_the_words_and_is_remembered(
    system: RunningSystem, browser: Browser, shots: Path
) -> None:
    context = browser.new_context(locale="en-US")
    visitor = Console(context, system.url("gateway"), shots, "language")
    expect(visitor.page.locator("h1")).to_have_text("Pay console")

    visitor.page.select_option("#language", "ko")

    expect(visitor.page.locator("h1")).to_have_text("Pay 콘솔")
    expect(visitor.card("session.loginTitle").locator("h2")).to_have_text("로그인")
    visitor.page.reload()
    expect(visitor.card("session.signupTitle").locator("h2")).to_have_text("회원 가입")
    visitor.shot("korean")
    context.close()
    korean_browser = browser.new_context(locale="ko-KR")
    first_visit = Console(korean_browser, system.url("gateway"), shots, "korean-default")
    expect(first_visit.page.locator("h1")).to_have_text("Pay 콘솔")
    korean_browser.close()
