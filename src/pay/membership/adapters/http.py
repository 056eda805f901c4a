"""Membership's HTTP API (SPEC "Membership")."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, status

from pay.contracts.membership import (
    LoginRequest,
    Member,
    MemberPage,
    ModifyMemberRequest,
    RefreshTokenRequest,
    RegisterMemberRequest,
    TokenPair,
    TokenValidateRequest,
    TokenValidation,
)
from pay.contracts.types import NO_CONTROL_CHARACTERS, URL_SEGMENT
from pay.membership.application import use_cases
from pay.membership.application.use_cases import Dependencies, IssuedTokens
from pay.membership.domain import model
from pay.platform.auth import UNAUTHENTICATED_HEADERS, CurrentPrincipal, PrivilegedPrincipal, ensure_may_act_for
from pay.platform.problems import ErrorMap, ProblemSpec, refusals

ERRORS: ErrorMap = {
    model.MemberNotFound: ProblemSpec(404, "member-not-found", "No such member"),
    model.EmailAlreadyRegistered: ProblemSpec(409, "email-already-registered", "This email is already registered"),
    model.StatusChangeForbidden: ProblemSpec(403, "status-change-forbidden", "Only an admin may change this"),
    model.AdminMustStay: ProblemSpec(
        409, "admin-must-stay", "The admin cannot be made invalid nor have its email changed"
    ),
    model.InvalidCredentials: ProblemSpec(
        401, "invalid-credentials", "The email or password is wrong", UNAUTHENTICATED_HEADERS
    ),
    model.InvalidRefreshToken: ProblemSpec(
        401, "invalid-refresh-token", "The refresh token is invalid, expired or already used", UNAUTHENTICATED_HEADERS
    ),
}


async def _deps(request: Request) -> Dependencies:
    deps: Dependencies = request.app.state.membership
    return deps


Deps = Annotated[Dependencies, Depends(_deps)]

router = APIRouter(prefix="/membership", tags=["membership"])


def _member(member: model.Member) -> Member:
    return Member(
        membership_id=member.membership_id,
        name=member.name,
        email=member.email,
        address=member.address,
        is_valid=member.is_valid,
        is_corp=member.is_corp,
        created_at=member.created_at,
        updated_at=member.updated_at,
    )


def _token_pair(tokens: IssuedTokens) -> TokenPair:
    return TokenPair(
        membership_id=tokens.membership_id,
        jwt_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=refusals(ERRORS, model.EmailAlreadyRegistered))
async def register(body: RegisterMemberRequest, deps: Deps) -> Member:
    command = use_cases.RegisterMember(body.name, body.email, body.address, body.password, body.is_corp)
    return _member(await use_cases.register_member(deps, command))


@router.post("/login", responses=refusals(ERRORS, model.InvalidCredentials))
async def login(body: LoginRequest, deps: Deps) -> TokenPair:
    return _token_pair(await use_cases.log_in(deps, body.email, body.password))


@router.post("/refresh-token", responses=refusals(ERRORS, model.InvalidRefreshToken))
async def refresh_token(body: RefreshTokenRequest, deps: Deps) -> TokenPair:
    return _token_pair(await use_cases.refresh_tokens(deps, body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(body: RefreshTokenRequest, deps: Deps) -> None:
    """End the session of this refresh token: it and every token rotated from it stop refreshing. The access
    token still works until it expires (minutes); a client forgets it."""
    await use_cases.log_out(deps, body.refresh_token)


@router.post("/token-validate")
async def token_validate(body: TokenValidateRequest, deps: Deps) -> TokenValidation:
    membership_id = await use_cases.validate_access_token(deps, body.jwt_token)
    return TokenValidation(valid=membership_id is not None, membership_id=membership_id)


@router.get("/me", responses=refusals(ERRORS, model.MemberNotFound))
async def me(principal: CurrentPrincipal, deps: Deps) -> Member:
    return _member(await use_cases.get_member(deps, principal.subject))


@router.post(
    "/modify",
    responses=refusals(
        ERRORS, model.MemberNotFound, model.StatusChangeForbidden, model.EmailAlreadyRegistered, model.AdminMustStay
    ),
)
async def modify(body: ModifyMemberRequest, principal: CurrentPrincipal, deps: Deps) -> Member:
    ensure_may_act_for(principal, body.membership_id)
    command = use_cases.ModifyMember(
        body.membership_id,
        body.name,
        body.email,
        body.address,
        body.is_valid,
        body.is_corp,
        privileged=principal.is_privileged,
    )
    return _member(await use_cases.modify_member(deps, command))


@router.get("/address/{address}")
async def by_address(
    address: Annotated[str, Path(max_length=100, pattern=NO_CONTROL_CHARACTERS)],
    _: PrivilegedPrincipal,
    deps: Deps,
    cursor: Annotated[str | None, Query(min_length=1, max_length=64, pattern=URL_SEGMENT)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> MemberPage:
    """The region's members, by membership id."""
    page = await use_cases.members_by_address(deps, address, cursor, limit)
    return MemberPage(items=[_member(member) for member in page.members], next_cursor=page.next_cursor)


@router.get("/{membership_id}", responses=refusals(ERRORS, model.MemberNotFound))
async def get(membership_id: str, principal: CurrentPrincipal, deps: Deps) -> Member:
    ensure_may_act_for(principal, membership_id)
    return _member(await use_cases.get_member(deps, membership_id))
