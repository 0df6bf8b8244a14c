#!/usr/bin/python3
"""An agent of the original HyperCode system, as its guide writes one, for the end-to-end test
test/e2e/seed-agents.e2e.test.ts (issue 10, "proof with their client").

It builds the upstream `ImprovementRequest` (the model of upstream's
`agents/shared/protocols/evolution.py`, with exactly its fields), subscribes to the two channels
upstream's agents listen on, submits with the guide's line unchanged:

    await r.xadd("events:improvement_requested", {"payload": req.model_dump_json()})

and waits for the outcome of its own id. Stream and channel names are upstream's literal ones, so
the runner under test must use no KEY_PREFIX.

Output (stdout, one JSON object a line): {"sent": <the payload it wrote>}, then
{"channel": ..., "event": ...} for each event that names its id. Exit 0 once one came and
--linger seconds have passed; exit 2 with a message on stderr if none came within --timeout
(3 if Redis did not confirm the subscriptions).

Run it with /usr/bin/python3: it needs Debian's python3-redis (redis.asyncio) and
python3-pydantic (v1, which is what Debian 12 ships; the model is written for v2 as well, untried).
"""

import argparse
import asyncio
import json
import sys
import uuid
from datetime import datetime
from enum import Enum
from typing import List, Optional

import redis.asyncio as redis
from pydantic import BaseModel, Field

SUCCESS = "events:deployment:success"
FAILURE = "events:deployment:failure"


class ImprovementType(str, Enum):
    BUG_FIX = "bug_fix"
    PERFORMANCE = "performance"
    FEATURE = "feature"
    REFACTOR = "refactor"
    SECURITY = "security"


class EvolutionStatus(str, Enum):
    PROPOSED = "proposed"
    CODED = "coded"
    TESTED = "tested"
    DEPLOYING = "deploying"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


class ImprovementRequest(BaseModel):
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    agent_id: str
    target_agent: str
    improvement_type: ImprovementType
    description: str = Field(..., min_length=10)
    payload: dict
    priority: int = Field(default=1, ge=1, le=5)
    files_changed: List[str] = []
    test_results: Optional[dict] = None
    status: EvolutionStatus = EvolutionStatus.PROPOSED
    timestamp: datetime = Field(default_factory=datetime.utcnow)

    if not hasattr(BaseModel, "model_dump_json"):
        # pydantic v1 (Debian 12's): `.json()` writes the same object as v2's `model_dump_json()`
        # (str enums as their values, a naive datetime as isoformat); v2 writes it compact.
        def model_dump_json(self) -> str:
            return self.json(separators=(",", ":"))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--redis", required=True, help="Redis URL, e.g. redis://127.0.0.1:6379")
    p.add_argument("--target", required=True, help="target_agent: the service to change")
    p.add_argument("--payload", default='{"action": "redeploy"}', help="payload, as JSON")
    p.add_argument("--id", help="a fixed id (default: the model's uuid4)")
    p.add_argument("--agent-id", default="coder-agent")
    p.add_argument("--type", default="performance", help="improvement_type")
    p.add_argument("--priority", type=int, default=1, help="1 (low) to 5 (critical)")
    p.add_argument("--twice", action="store_true", help="XADD the same request twice (a retry)")
    p.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for an event")
    p.add_argument("--linger", type=float, default=0.0, help="seconds to keep listening after one")
    return p.parse_args()


def emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


async def main() -> int:
    args = parse_args()
    fields = dict(
        agent_id=args.agent_id,
        target_agent=args.target,
        improvement_type=args.type,
        description="Optimizing build settings",
        payload=json.loads(args.payload),
        priority=args.priority,
        files_changed=["src/app.py"],
        test_results={"passed": 12},
    )
    if args.id:
        fields["id"] = args.id
    req = ImprovementRequest(**fields)

    r = redis.from_url(args.redis)
    pubsub = r.pubsub()
    # Subscribed before submitting: pub/sub keeps nothing for a listener that comes late.
    await pubsub.subscribe(SUCCESS, FAILURE)
    confirmed = 0
    while confirmed < 2:
        msg = await pubsub.get_message(timeout=10.0)
        if msg is None:
            print("agent.py: Redis did not confirm the subscriptions", file=sys.stderr)
            return 3
        confirmed += msg["type"] == "subscribe"

    emit({"sent": json.loads(req.model_dump_json())})
    await r.xadd("events:improvement_requested", {"payload": req.model_dump_json()})
    if args.twice:
        await r.xadd("events:improvement_requested", {"payload": req.model_dump_json()})

    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.timeout
    seen = 0
    while loop.time() < deadline:
        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if msg is None or msg["type"] != "message":
            continue
        event = json.loads(msg["data"])
        if event.get("request_id") != req.id:
            continue
        channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
        emit({"channel": channel, "event": event})
        if seen == 0:
            deadline = loop.time() + args.linger
        seen += 1

    await pubsub.unsubscribe()
    await pubsub.close()
    await r.close()
    if seen == 0:
        print(f"agent.py: no event for {req.id} within {args.timeout:g} s", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
