"""schemathesis hooks of scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

POST /api/emojis accepts a reaction only with a timestamp within 24 h of the server's clock, which no schema can
say, and with a `user_id` of letters and digits and an `emoji_type` that is one emoji, which random strings seldom
are. So that the fuzzer also reaches the 202 (and the per-user 429) answers, half of the generated requests get
the current time, a plain user id and a known emoji in every event; the other half are sent as generated. Values
of the wrong type are left alone.
"""

import random
import time

import schemathesis

EMOJIS = ["😀", "fire", "love", "👍🏽", "🇮🇳", "👩‍👩‍👧", "1️⃣"]


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.method.upper() != "POST" or case.path != "/api/emojis" or random.random() < 0.5:
        return
    for event in case.body if isinstance(case.body, list) else [case.body]:
        if not isinstance(event, dict):
            continue
        timestamp = event.get("timestamp")
        if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool):
            event["timestamp"] = int(time.time() * 1000)
        if isinstance(event.get("user_id"), str):
            event["user_id"] = "u%d" % random.randrange(1000)
        if isinstance(event.get("emoji_type"), str):
            event["emoji_type"] = random.choice(EMOJIS)
