"""Random users, made a chunk at a time: names, emails and signup times.

Names and emails are a function of the user index (hashed), so they are the same in whichever
chunk a user falls. About 4 % of emails are typed in mixed case, and roughly one account in 97
shares a consultant with another account: the same email in two accounts, which email matching
must refuse to guess about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emulators.demo_world.randomness import STREAM_USERS, generator, index_hash

FIRST_NAMES = [
    "Ada", "Alex", "Amir", "Ana", "Ben", "Chen", "Chloe", "Dana", "Diego", "Elena", "Emma", "Farah", "Grace",
    "Hana", "Ivan", "Jonas", "Kai", "Lea", "Liam", "Maya", "Mei", "Nils", "Noah", "Olga", "Omar", "Priya",
    "Ravi", "Rosa", "Sam", "Sofia", "Tariq", "Yuki", "Zoe",
]  # fmt: skip
LAST_NAMES = [
    "Adler", "Baker", "Costa", "Dubois", "Evans", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Kim",
    "Larsen", "Martin", "Novak", "Okafor", "Patel", "Quinn", "Rossi", "Silva", "Tanaka", "Ueda", "Vargas",
    "Weber", "Xu", "Young", "Zhang",
]  # fmt: skip
MIXED_CASE_SHARE = 0.04
SHARED_EMAIL_EVERY = 97  # accounts a with a % 97 == 5 have a consultant; pairs of them share one


def _pick(words: list[str], h: np.ndarray) -> np.ndarray:
    return np.asarray(words, dtype=object)[h % np.uint64(len(words))]


def _names(seed: int, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = index_hash(seed, index, salt=21)
    return _pick(FIRST_NAMES, h).astype(str), _pick(LAST_NAMES, h >> np.uint64(20)).astype(str)


def base_emails(seed: int, index: np.ndarray, account_index: np.ndarray) -> np.ndarray:
    """Users' emails before case mixing and consultants: unique, lower-case, a function of the index.

    An account's first user always keeps this email, which is what Stripe customers matched by
    email carry.
    """
    first, last = _names(seed, index)
    local = np.char.add(np.char.lower(first + "." + last), index.astype(str))
    return np.char.add(np.char.add(local, "@team"), np.char.add(account_index.astype(str), ".example"))


def user_ids(index: np.ndarray) -> np.ndarray:
    return np.asarray([f"u{i:08d}" for i in index], dtype=object)


def consultant_email(seed: int, pool: np.ndarray) -> np.ndarray:
    h = index_hash(seed, pool, salt=31)
    first = _pick(FIRST_NAMES, h).astype(str)
    last = _pick(LAST_NAMES, h >> np.uint64(20)).astype(str)
    return np.char.lower(first + "." + last) + np.char.add("@advisors-", pool.astype(str)) + ".example"


def user_chunk(
    seed: int,
    chunk: int,
    index: np.ndarray,
    account_index: np.ndarray,
    account_ids: np.ndarray,
    account_created: np.ndarray,
    is_first_in_account: np.ndarray,
    is_last_in_account: np.ndarray,
    now: np.datetime64,
) -> pd.DataFrame:
    """Users `index` (global positions) of accounts `account_index`; columns as the users table.

    Per-user arrays are aligned with `index`; `account_ids` and `account_created` are per user too.
    """
    rng = generator(seed, STREAM_USERS, chunk)
    first, last = _names(seed, index)
    email = base_emails(seed, index, account_index)
    mixed = rng.random(len(index)) < MIXED_CASE_SHARE
    email = np.where(mixed, np.char.title(email), email)
    consultant = is_last_in_account & ~is_first_in_account & (account_index % SHARED_EMAIL_EVERY == 5)
    if consultant.any():
        pool = account_index[consultant] // SHARED_EMAIL_EVERY // 2
        email[consultant] = consultant_email(seed, pool)

    # The first user signed the account up; the others joined later, mostly soon after.
    lifetime = (now - account_created).astype(np.int64)
    joined_after = (lifetime * rng.random(len(index)) ** 2).astype("timedelta64[s]")
    created = np.where(is_first_in_account, account_created, account_created + joined_after)
    return pd.DataFrame(
        {
            "user_id": user_ids(index),
            "account_id": account_ids,
            "email": email.astype(object),
            "name": first.astype(object) + " " + last.astype(object),
            "created_at": created.astype("datetime64[s]"),
        }
    )
