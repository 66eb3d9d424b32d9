"""English patterns for what injected text tells the model: forget your instructions, become
someone else (``disclosure`` has show your prompt and keep this from the user; ``actions`` has
send the data out, call a tool and speak as the system).

Each looks for the shape of an instruction aimed at the model, not for single words, because
support traffic uses the same words ("please ignore my previous email", "the new instructions:
leave parcels at the back door"). The classes of look-alike that pass on purpose:

- what the writer owns: "ignore *my* previous instructions", "the instructions *I gave*";
- a new role that is a customer's: "you are now subscribed", "you are now the account
  administrator for Acme" (a role *for* someone);
- people, not models: "note to agent", "message for the assistant manager".
"""

# Pattern tables: a regex alternative reads best whole, so lines run long.
# ruff: noqa: E501
from agentrun.logic.injection.rules import Spec

_VERB = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|override|bypass|circumvent|"
    r"neglect|discard|abandon|throw\s+away|throw\s+out|set\s+aside|pay\s+no\s+attention\s+to|"
    r"do\s+not\s+follow|don't\s+follow|stop\s+following|no\s+longer\s+follow|reset|erase|"
    r"skip|drop|cancel|void|delete)"
)
# Qualifiers that point at the model's instructions (scope, time, owner); "my" and "these" are
# left out: the customer's own instructions, or a leaflet's, are not the model's.
_STRONG = (
    r"(?:all|any|every|previous|previously|prior|above|earlier|preceding|foregoing|former|"
    r"original|initial|existing|current|given|system|safety|developer|default|your|old|other|"
    r"above-mentioned|aforementioned|such|entire|whole)"
)
_WEAK = r"(?:the|of|these|those|this|that|its|and|such|kind|sort|types?)"
_INSTRUCTIONS = (
    r"(?:instructions?|prompts?|rules|directives?|directions|guidelines|guidance|guardrails|"
    r"restrictions|limitations|limits|programming|policies|policy|constraints|safeguards|commands|"
    r"context|configuration|training|filters|system\s+messages?)"
)
_MINE = r"(?!\s+(?:that\s+|which\s+)?(?:i|we)\s+(?:gave|sent|wrote|left|added|mentioned|provided|made|put|had))"
_OVERRIDE_WORDS = (
    "ignor", "disregard", "forget", "override", "bypass", "circumvent", "neglect", "discard",
    "abandon", "throw", "aside", "attention", "follow", "reset", "erase", "skip", "drop",
    "cancel", "void", "delete",
)  # fmt: skip

# "model" alone is a product as often as it is the reader ("a request for the model X200").
_AI = (
    r"(?:ai|a\.i\.|assistant|chatbot|llm|gpt|chatgpt|language\s+model|ai\s+model|ai\s+agent|bot|"
    r"automated\s+(?:systems?|agents?|assistants?|readers?|tools?)|ai\s+systems?)"
)
_NOT_A_JOB = r"(?!\s+(?:manager|director|coordinator|editor|professor|teacher|team))"
_ROLE_NOUN = (
    r"(?:ai|assistant|model|chatbot|bot|llm|gpt|persona|character|hacker|jailbreak|dan|stan|"
    r"aim|version\s+of\s+yourself|terminal|shell|admin(?:istrator)?|root|superuser|sysadmin|"
    r"developer|employee|manager|cfo|ceo|owner|banker|god)"
)
_MODES_STRONG = r"(?:god|jailbreak|jailbroken|dan|unrestricted|unfiltered|uncensored|evil|no[\s-]?limits?|chaos|freedom)"
_MODES = rf"(?:developer|admin|debug|sudo|root|maintenance|superuser|test|{_MODES_STRONG})"
_LIMITS = (
    r"(?:restrictions|limitations|limits|filters|guardrails|safeguards|rules|polic(?:y|ies)|"
    r"censorship|confines|ethics|morals|boundaries|guidelines|constraints)"
)
# Words that dismiss instructions, and references to the model's own setup: together, in one
# sentence, they are an override however it is phrased ("everything you were told earlier is
# outdated", "set aside whatever guidance you were configured with").
_DISMISS = (
    r"set\s+aside|discard|disregard|ignore|forget|outdated|deprecated|obsolete|void|invalid|revoked|"
    r"cancell?ed|no\s+longer\s+(?:valid|applies|apply|in\s+effect|relevant)|do\s+the\s+opposite\s+of|overridden|"
    r"superseded|suspended|lifted"
)
_SETUP = (
    r"(?:you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|instructed|programmed|trained|configured|set\s+up)|"
    r"your\s+(?:(?:setup|set-up|configuration|programming)(?!\s+(?:fee|guide|wizard|page|process|costs?|charges?|"
    r"time|team|call|appointment))|guidelines|directives|system\s+instructions|instructions)|"
    r"(?<!\bmy\s)(?<!\bour\s)(?<!\bthe\s)(?:prior|earlier|previous|original|initial)\s+(?:directives|rules|instructions|"
    rf"guidelines|constraints|guidance)){_MINE}"
)
# The same, first in a sentence ("your setup is outdated"), where the writer's own cannot be.
_SETUP_LEAD = _SETUP.replace(r"(?<!\bmy\s)(?<!\bour\s)(?<!\bthe\s)", "").replace(_MINE, "")

# fmt: off
SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- override
    (
        "override",
        rf"\b{_VERB}\s+(?:{_WEAK}\s+)*{_STRONG}\s+(?:(?:{_STRONG}|{_WEAK})\s+){{0,3}}{_INSTRUCTIONS}\b{_MINE}",
        _OVERRIDE_WORDS,
    ),
    (
        "override",
        (
            rf"\b{_VERB}\s+(?:(?:all|everything|anything|whatever|what)\s+)?(?:(?:that\s+)?(?:was\s+|is\s+|has\s+been\s+)?"
            r"(?:said|written|stated|mentioned)\s+)?(?:the\s+)?(?:above|before\s+this|so\s+far)\b"
        ),
        _OVERRIDE_WORDS,
    ),
    (
        "override",
        (
            rf"\b{_VERB}\s+(?:all\s+|everything\s+|anything\s+|whatever\s+|what\s+)(?:that\s+)?you(?:'ve|\s+have|\s+were|\s+had)?\s+"
            r"(?:been\s+)?(?:told|given|instructed|taught|programmed|asked|trained)"
        ),
        _OVERRIDE_WORDS,
    ),
    (
        "override",
        (
            r"\bwhatever\s+you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|instructed|asked|programmed)\s+to\s+do"
            r"\s*[,;.]?\s+(?:cancel|ignore|forget|stop|drop)"
        ),
        ("whatever",),
    ),
    (
        "override",
        (
            r"\b(?:previous|prior|earlier|above|original|old|system|initial|your)\s+(?:instructions|rules|prompts?|"
            r"directives|guidelines)\s+(?:above\s+)?(?:are|were|have\s+been|has\s+been|is)\s+(?:now\s+|hereby\s+)?"
            r"(?:void|cancell?ed|revoked|invalid|no\s+longer\s+(?:valid|apply|in\s+effect|active)|obsolete|replaced|"
            r"overridden|superseded|deprecated|null|lifted|suspended|(?:only\s+|just\s+)?a\s+test|fake)"
        ),
        ("instruction", "rules", "prompt", "directive", "guideline"),
    ),
    (
        "override",
        (
            r"\b(?:these|the\s+following|my|new|this)\s+(?:new\s+)?(?:instructions?|rules|directives?|message)\s+"
            r"(?:supersede|override|replace|take\s+(?:precedence|priority)|overrule|cancel)"
        ),
        ("supersede", "override", "replace", "precedence", "priority", "overrule", "cancel"),
    ),
    (
        "override",
        (
            r"\b(?:new|updated|real|actual|true|revised|secret|hidden|correct)\s+(?:system\s+)?(?:instructions?|"
            r"task|directive|rules|orders|objective|goal|mission)\s*(?:for\s+(?:the|you|this)\s+(?:ai|assistant|"
            r"model|agent|bot)\s*)?(?:follows?\s*)?:\s*(?:you\b|the\s+(?:ai|assistant|model)|ignore|disregard|"
            r"forget|refund|approve|grant|give|issue|transfer|send|forward|e-?mail|reveal|print|close|delete|"
            r"cancel|escalate|pay|wire|always|never|do\s+not|don't)"
        ),
        ("instruction", "task", "directive", "rules", "orders", "objective", "goal", "mission"),
    ),
    (
        "override",
        rf"\b(?:{_DISMISS})\b[^.\n]{{0,60}}?\b{_SETUP}",
        ("aside", "discard", "disregard", "ignor", "forget", "outdated", "deprecated", "obsolete", "void", "invalid", "revoked", "cancel", "longer", "opposite", "overridden", "superseded", "suspended", "lifted"),
    ),
    (
        "override",
        rf"\b{_SETUP_LEAD}[^.\n]{{0,40}}?\b(?:{_DISMISS})\b",
        ("aside", "discard", "disregard", "ignor", "forget", "outdated", "deprecated", "obsolete", "void", "invalid", "revoked", "cancel", "longer", "opposite", "overridden", "superseded", "suspended", "lifted"),
    ),
    (
        "override",
        (
            r"\bno\s+(?:earlier|prior|previous|other|old|original)\s+(?:rules|instructions|guidelines|directives|restrictions)\s+"
            r"(?:apply|applies|matter|count|hold)"
        ),
        ("apply", "applies", "matter", "count", "hold"),
    ),
    (
        "override",
        (
            r"\b(?:your|the|previous|prior|earlier|original)\s+(?:[\w-]+\s+)?(?:rules|instructions|guidelines|restrictions|"
            r"directives|limits)\s+(?:no\s+longer|don't|do\s+not|doesn't|does\s+not)\s+apply\b"
        ),
        ("apply",),
    ),
    (
        "override",
        (
            r"\byour\s+(?:new|real|only|actual|true|sole|next)\s+(?:task|job|goal|objective|instructions?|purpose|"
            r"mission)\s+(?:now\s+)?(?:is|are)\b"
        ),
        ("your",),
    ),
    (
        "override",
        (
            r"\b(?:stop|quit|cease)\s+(?:following|obeying|applying|using|honou?ring)\s+(?:your|the|any|all)\s+"
            rf"(?:[\w-]+\s+){{0,2}}?{_INSTRUCTIONS}"
        ),
        ("stop", "quit", "cease"),
    ),
    (
        "override",
        (
            r"\bfrom\s+now\s+on\s*,?\s+you\s+(?:will\s+|must\s+|should\s+|shall\s+|are\s+to\s+)?(?:ignore|disregard|"
            r"forget|answer|respond|reply|obey|act|behave|only|always|never|approve|refund|comply)"
        ),
        ("now",),
    ),
    # ------------------------------------------------------------------------- role
    (
        "role",
        rf"\b(?:you\s+are|you're)\s+(?:now\s+|still\s+)?in\s+(?:the\s+)?{_MODES}\s+mode\b",
        ("mode",),
    ),
    (
        "role",
        (
            r"\b(?:you\s+are|you're|you\s+will\s+be)\s+(?:now|henceforth|from\s+now\s+on)\s+(?:(?:a|an|the|my|in|"
            rf"acting\s+as|operating\s+as|playing|speaking\s+as|working\s+as)\s+)?(?:[\w-]+\s+){{0,2}}?{_ROLE_NOUN}\b"
            r"(?!\s+(?:for|of)\s+(?!you))"
        ),
        ("now",),
    ),
    (
        "role",
        (
            r"\b(?:enter|entering|switch(?:ing)?\s+(?:in)?to|enable|activate|turn\s+on|go\s+into|put\s+yourself\s+"
            rf"in(?:to)?|now\s+in)\s+(?:the\s+)?{_MODES_STRONG}\s+mode\b"
        ),
        ("mode",),
    ),
    (
        "role",
        (
            rf"\b(?:enter|switch\s+(?:in)?to|enable|activate|go\s+into)\s+(?:the\s+)?{_MODES}\s+mode\s+and\s+"
            r"(?:disable|ignore|bypass|skip|turn\s+off|remove|drop|answer\s+without|approve|reveal|grant)"
        ),
        ("mode",),
    ),
    (
        "role",
        (
            r"\byou\s+are\s+no\s+longer\s+(?:bound|restricted|limited|required\s+to\s+follow|constrained|"
            rf"(?:a|an|the|my)\s+(?:[\w-]+\s+){{0,2}}?{_AI}\b)"
        ),
        ("longer",),
    ),
    (
        "role",
        (
            r"\b(?:pretend|imagine|suppose|assume)\s+(?:that\s+)?(?:you\s+are|you're|to\s+be|you\s+were)\s+"
            rf"(?:an?\s+|the\s+|my\s+)?(?:[\w,'-]+\s+){{0,3}}?{_ROLE_NOUN}\b"
        ),
        ("pretend", "imagine", "suppose", "assume"),
    ),
    (
        "role",
        (
            r"\b(?:act|behave|respond|answer|reply|roleplay|role-play|role\s+play|pose|speak)\s+(?:in\s+character\s+)?(?:as\s+if\s+you\s+"
            rf"(?:are|were)\s+|as\s+|like\s+)(?:an?\s+|the\s+|my\s+)?(?:[\w,'-]+\s+){{0,3}}?{_ROLE_NOUN}\b"
        ),
        ("act", "behave", "respond", "answer", "reply", "role", "pose", "speak"),
    ),
    (
        "role",
        r"\b(?:assume|play|take\s+on|adopt)\s+the\s+(?:role|persona|identity|character)\s+of\b",
        ("role", "persona", "identity", "character"),
    ),
    (
        "role",
        rf"\bsimulate\s+(?:a\s+)?(?:version\s+of\s+yourself|an?\s+(?:[\w-]+\s+){{0,2}}?{_AI}\b)",
        ("simulate",),
    ),
    (
        "role",
        r"\b(?:your|a)\s+new\s+(?:persona|identity|character|personality|name)\s+is\b",
        ("new",),
    ),
    ("role", r"\bswitch\s+(?:personas?|roles|characters|identities)\b", ("switch",)),
    (
        "role",
        rf"\b(?:from\s+now\s+on|from\s+this\s+point|henceforth|now)\s*,?\s+you\s+(?:have|face)\s+(?:no|zero)\s+{_LIMITS}",
        ("no", "zero"),
    ),
    (
        "role",
        (
            r"\b(?:you\s+are|you're|you'll\s+be|you\s+will\s+be)\s+(?:now\s+)?(?:[\w-]+\s+){0,2}?[\w-]+,\s+an?\s+"
            r"(?:[\w-]+\s+){0,2}?(?:ai|assistant|bot|chatbot|model|llm)\b"
        ),
        ("you",),
    ),
    (
        "role",
        (
            rf"\b(?:behave|act|answer|respond)\s+as\s+if\s+(?:your|the)\s+(?:[\w-]+\s+)?{_LIMITS}\s+(?:does|do|did)\s+"
            r"not\s+(?:exist|apply)"
        ),
        ("if",),
    ),
    (
        "role",
        (
            r"\b(?:drop|remove|disable|turn\s+off|lift|ignore|bypass|abandon|forget)\s+(?:all\s+|any\s+)?(?:of\s+)?"
            rf"your\s+(?:[\w-]+\s+)?{_LIMITS}"
        ),
        ("your",),
    ),
    (
        "role",
        (
            rf"\b(?:{_AI}|version\s+of\s+yourself|yourself)\s+(?:[\w-]+\s+){{0,3}}?(?:without|with\s+(?:no|zero)|free\s+(?:from|of)|"
            rf"freed\s+from|released\s+from|that\s+has\s+no|that\s+ignores)\s+(?:any\s+|all\s+)?(?:[\w-]+\s+){{0,2}}?{_LIMITS}"
        ),
        ("without", "no", "free", "released", "ignores"),
    ),
    (
        "role",
        (
            r"\b(?:disable|turn\s+off|remove|bypass|deactivate|switch\s+off)\s+(?:all\s+|any\s+|the\s+)?(?:of\s+)?"
            r"(?:your\s+)?(?:safety\s+)?(?:guardrails|safeguards|safety\s+(?:filters|checks|rules|guidelines)|"
            r"content\s+filters?|content\s+polic(?:y|ies))"
        ),
        ("guardrail", "safeguard", "safety", "content"),
    ),
    (
        "role",
        (
            r"\b(?:you|you've|you\s+have|you\s+are|you're)\s+(?:been\s+|now\s+)?(?:jailbroken|unlocked|freed|"
            r"liberated|unchained|unleashed)\b"
        ),
        ("jailbroken", "unlocked", "freed", "liberated", "unchained", "unleashed"),
    ),
    (
        "role",
        r"\b(?:let's|let\s+us|lets)\s+(?:do\s+a\s+|play\s+a\s+)?(?:game|role-?\s?play|pretend)\b[^.\n]{0,40}?\byou\s+(?:are|will\s+be)\b",
        ("let",),
    ),
    (
        "role",
        (
            r"\b(?:from\s+now\s+on|from\s+this\s+(?:point|moment)\s+(?:on|forward)|henceforth)\s*,?\s+you\s+"
            rf"(?:are|will\s+be|will\s+act\s+as|will\s+respond\s+as|act\s+as|respond\s+as)\s+(?:[\w,'-]+\s+){{0,3}}?{_ROLE_NOUN}\b"
        ),
        ("from", "henceforth"),
    ),
    (
        "role",
        r"\bwhich\s+stands\s+for\s+(?:do\s+anything\s+now|strive\s+to\s+avoid\s+norms)",
        ("stands",),
    ),

)
# fmt: on
