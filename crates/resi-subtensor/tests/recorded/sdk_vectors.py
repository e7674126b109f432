"""The Python SDK's answers for tests/spec425.rs: call bytes, signed payloads
and signed extrinsics for resi's weight calls against the spec-425-shaped
metadata, and timelock reveal rounds from the SDK's stateful epoch model.

Made with bittensor 11.3.0 (bittensor_core 0.1.5) from PyPI, in a venv kept
outside the repository, and libfaketime to freeze the SDK's clock:

    python3 -m venv /tmp/btvenv && /tmp/btvenv/bin/pip install "bittensor>=11,<12"
    apt-get install faketime    # libfaketime, preloaded to freeze the clock
    RESI_WRITE_SPEC425_METADATA=/tmp/spec425.scale \\
        cargo test -p resi-subtensor --test spec425 the_sdk_vectors_were_made_from_this_metadata
    /tmp/btvenv/bin/python crates/resi-subtensor/tests/recorded/sdk_vectors.py /tmp/spec425.scale \\
        > crates/resi-subtensor/tests/recorded/spec425-sdk-vectors.json

The last test fails until the vectors exist (it checks their metadata hash).
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys

SPEC_VERSION = 425
TRANSACTION_VERSION = 1
GENESIS = bytes([0x11] * 32)
PUBLIC_KEY = bytes([0xD4] * 32)
SIGNATURE = bytes([7] * 64)

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

# Frozen clocks for the reveal rounds (UTC, whole seconds as resi's clock).
NOWS = ["2026-12-07 12:00:00", "2027-03-01 08:30:07", "2026-12-07 12:00:01"]

# (last_epoch_block, pending_epoch_at, subnet_epoch_index, tempo,
#  blocks_since_last_step, current_block, reveal_period_epochs, block_time)
STATES = [
    (100, 0, 7, 50, 20, 120, 1, 12.0),  # mid-epoch
    (100, 0, 7, 50, 48, 148, 1, 12.0),  # two blocks before a fire
    (100, 0, 7, 50, 49, 149, 1, 12.0),  # the commit lands in the firing block
    (100, 0, 7, 50, 50, 150, 1, 12.0),  # head is the firing block (not yet fired)
    (100, 0, 7, 50, 20, 120, 3, 12.0),  # three epochs
    (6_000_000, 0, 16_600, 360, 100, 6_000_100, 1, 12.0),  # finney-like
    (6_000_000, 0, 16_600, 360, 359, 6_000_359, 2, 12.0),
    (6_000_000, 6_000_200, 16_600, 360, 100, 6_000_100, 1, 12.0),  # owner-triggered epoch pending
    (6_000_000, 6_000_101, 16_600, 360, 100, 6_000_100, 1, 12.0),  # pending fires with the commit
    (1_000, 0, 3, 10, 50_401, 1_005, 1, 12.0),  # stalled past MAX_TEMPO
    (200, 0, 9, 10, 3, 203, 1, 0.25),  # fast blocks
    (200, 0, 9, 10, 3, 203, 4, 0.25),
]


def rounds(now_label):
    import bittensor_core as core

    out = []
    for (last, pending, index, tempo, since, block, period, block_time) in STATES:
        _, reveal_round = core.get_encrypted_commit_v2(
            uids=[1, 2],
            weights=[3, 4],
            version_key=0,
            last_epoch_block=last,
            pending_epoch_at=pending,
            subnet_epoch_index=index,
            tempo=tempo,
            blocks_since_last_step=since,
            current_block=block,
            subnet_reveal_period_epochs=period,
            block_time=block_time,
            hotkey=bytes(32),
        )
        now = datetime.datetime.strptime(now_label, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        out.append(
            {
                "state": {
                    "lastEpochBlock": last,
                    "pendingEpochAt": pending,
                    "subnetEpochIndex": index,
                    "tempo": tempo,
                    "blocksSinceLastStep": since,
                    "currentBlock": block,
                },
                "revealPeriodEpochs": period,
                "blockTime": block_time,
                "nowUnix": int(now.timestamp()),
                "round": reveal_round,
            }
        )
    return out


def extrinsics(metadata):
    import bittensor_core as core

    runtime = core.Runtime(metadata, SPEC_VERSION, TRANSACTION_VERSION, 42)
    calls = [
        ("set_mechanism_weights", {"netuid": 2, "mecid": 1, "dests": [2, 3], "weights": [65535, 21845], "version_key": 7}),
        ("commit_mechanism_weights", {"netuid": 2, "mecid": 1, "commit_hash": "0x" + "09" * 32}),
        (
            "reveal_mechanism_weights",
            {"netuid": 2, "mecid": 1, "uids": [2, 3], "values": [65535, 21845], "salt": [1, 2, 3, 4, 5, 6, 7, 8], "version_key": 7},
        ),
        (
            "commit_timelocked_mechanism_weights",
            {"netuid": 2, "mecid": 1, "commit": "0x01020304", "reveal_round": 34_613_943, "commit_reveal_version": 4},
        ),
    ]
    out = []
    for nonce, (name, params) in enumerate(calls, start=5):
        call = runtime.compose_call("SubtensorModule", name, params)
        payload = runtime.signature_payload(
            call, era="00", nonce=nonce, tip=0, tip_asset_id=None, genesis_hash=GENESIS, era_block_hash=GENESIS
        )
        extrinsic, _ = runtime.encode_signed_extrinsic(
            call,
            public_key=PUBLIC_KEY,
            signature=SIGNATURE,
            signature_version=1,
            era="00",
            nonce=nonce,
            tip=0,
            tip_asset_id=None,
        )
        out.append(
            {
                "call": name,
                "params": params,
                "nonce": nonce,
                "callData": bytes(call).hex(),
                "signerPayload": bytes(payload).hex(),
                "extrinsic": bytes(extrinsic).hex(),
            }
        )
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--rounds":
        json.dump(rounds(sys.argv[2]), sys.stdout)
        return
    metadata = open(sys.argv[1], "rb").read()
    all_rounds = []
    for now in NOWS:
        # The SDK reads the wall clock: freeze it. An absolute FAKETIME
        # (no "@") stands still; the `faketime` command's clock would run on
        # from the given time while Python imports the SDK.
        env = dict(os.environ, TZ="UTC", FAKETIME=now, LD_PRELOAD=LIBFAKETIME)
        done = subprocess.run(
            [sys.executable, __file__, "--rounds", now],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        all_rounds += json.loads(done.stdout)
    import importlib.metadata as md

    json.dump(
        {
            "madeWith": f"bittensor {md.version('bittensor')}, bittensor-core {md.version('bittensor-core')}",
            "metadataSha256": hashlib.sha256(metadata).hexdigest(),
            "specVersion": SPEC_VERSION,
            "transactionVersion": TRANSACTION_VERSION,
            "genesisHash": GENESIS.hex(),
            "publicKey": PUBLIC_KEY.hex(),
            "signature": SIGNATURE.hex(),
            "extrinsics": extrinsics(metadata),
            "revealRounds": all_rounds,
        },
        sys.stdout,
        indent=1,
    )
    print()


if __name__ == "__main__":
    main()
