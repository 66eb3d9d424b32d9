"""English patterns for what injected text makes the model do: send data out, call tools, and
speak as the system or the assistant.

These are the attacks that cost something (a leak, a refund), and their look-alikes are common:
a customer moving their own data ("send everything to me at ..."), a product photo in markdown,
a courier's "System message", a chatbot transcript a customer pastes. So each pattern asks for
the part that makes it an attack: bulk or secret data, a placeholder the model is to fill in, a
turn that agrees to something, a role marker followed by a change of the rules.
"""

# Pattern tables: a regex alternative reads best whole, so lines run long.
# ruff: noqa: E501
from agentrun.logic.injection.rules import Spec

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
ADDRESS = rf"(?:{_EMAIL}|(?:https?|ftp)://[^\s\"'<>]+|\b\d{{1,3}}(?:\.\d{{1,3}}){{3}}\b)"
_SEND = (
    r"(?:send|forward|e-?mail|mail|post|upload|transmit|leak|copy|share|submit|export|dump|transfer|"
    r"write|put|paste|include|attach|deliver|relay|sync|push|publish|collect|provide)"
)
_WHO = r"(?:customer|customers|client|clients|user|users|employee|employees|patient|member|account)"
_BULK = (
    r"(?:everything|all\s+of\s+(?:it|this|them)|it\s+all|the\s+whole\s+(?:thing|lot|thread|conversation|history|database)"
    rf"|(?:{_WHO}|personal|private|payment|billing|contact)(?:'s|s')?\s+(?:data|records?|details|info(?:rmation)?|"
    r"lists?|e-?mails?|e-?mail\s+addresses|addresses|names|(?:phone\s+)?numbers?|table|database|files?|credentials|"
    r"passwords?|profiles?|history)"
    r"|(?:customer|user|client)(?:'s|s')\s+(?:full\s+)?(?:card|address|phone|password|e-?mail|ssn|date\s+of\s+birth|"
    r"details|data)"
    r"|(?:database|db)(?:\s+(?:dump|export|backup))?|(?:data|crm|customer|user|account|order)\s+(?:dump|export|backup)"
    r"|conversation(?:\s+(?:history|log|transcript))?|(?:chat|message)\s+(?:history|logs?|transcripts?)|transcripts?"
    r"|passwords?|credentials|api[\s_-]?keys?|secrets?|(?:session|access|auth|secret|bearer|refresh)\s+tokens?|tokens"
    r"|cookies?|private\s+keys?|ssh\s+keys?|card\s+numbers?|cvv|cvc"
    r"|system\s+prompt|internal\s+notes"
    rf"|(?:every|each|all)\s+(?:the\s+)?(?:e-?mail\s+address(?:es)?|phone\s+numbers?|{_WHO}|records?)"
    r"|(?:list|names|e-?mails|addresses)\s+of\s+(?:all\s+)?(?:the\s+|our\s+)?(?:customers|users|clients|accounts))"
)
_CONFIDENTIAL = (
    r"(?:api[\s_-]?keys?|secrets?|(?:secret|session|access|auth|bearer)\s+tokens?|tokens|passwords?|credentials|"
    r"cookies?|(?:user|customer|client)(?:'s|s')?\s+(?:[\w-]+\s+){0,2}?(?:e-?mail|address|phone|data|details|"
    r"password|names?|number|info)|summary|conversation|chat|transcript|history|system\s+prompt|card\s+numbers?|"
    r"personal\s+data|pii)"
)
# A placeholder the model is to fill with data it holds; "{{tracking_id}}" in a shop's
# template names an id, "{secret}" and "<customer_email>" name what leaks.
_DATA_NAME = (
    r"(?:[a-z_.-]*(?:e-?mail|phone|password|passwd|secret|api[_-]?key|token|ssn|card|cvv|summary|history|"
    r"conversation|chat|prompt|credential|cookie|session|personal|pii|address|data)[a-z_.-]*|"
    r"(?:user|customer|client)[_-][a-z_]+|[a-z_]+_here)"
)
_PLACEHOLDER = (
    rf"(?:\{{\{{?\s*{_DATA_NAME}\s*\}}|<\s*{_DATA_NAME}\s*>|\[\s*{_DATA_NAME}\s*\]|\$\{{?{_DATA_NAME}\}}?|"
    rf"%7b{_DATA_NAME}|%3c{_DATA_NAME})"
)
# What follows a role marker when it changes the rules rather than reporting a status.
_CUE = (
    r"\b(?:polic(?:y|ies)|rules?|must|allowed|permitted|approv\w*|ignore|disregard|override|assistant|ai|model|"
    r"instructions?|follow|comply|obey|commands?|you\s+(?:are|may|must|should|will|can)|(?:user|customer)\s+is|"
    r"no\s+longer|disabled?|lifted|suspended|grant\w*|unlimited|skip|bypass|from\s+now\s+on|verified|"
    r"authori[sz]ed|pre-?approved|proceed|limits?|threshold|escalat\w*)\b"
)
_TOOL_NOUN = r"(?:tool|function|api|action|command|endpoint|plugin|method)"
_ACT = r"(?:call|invoke|use|run|execute|trigger|fire|launch|activate)"

# fmt: off
SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- exfiltration
    (
        "exfiltration",
        (
            rf"\b{_SEND}\s+(?:[\w'-]+\s+){{0,4}}?{_BULK}\b(?!\s+to\s+(?:me|us|myself)\b)[^.\n]{{0,60}}?\s*\b"
            rf"(?:to|at|into|with)\s+(?:[\w-]+\s+){{0,4}}?{ADDRESS}"
        ),
        ("@", "://", "send", "post", "upload", "transmit", "forward", "export", "dump", "leak", "copy", "share"),
    ),
    (
        "exfiltration",
        (
            r"\b(?:compile|collect|gather|list|dump|export|copy|grab|take|pull|extract)\s+(?:[\w'-]+\s+){0,4}?"
            rf"{_BULK}\b[^.\n]{{0,80}}?\b(?:send|forward|e-?mail|mail|post|upload|transmit|leak|deliver)\s+(?:it|them|"
            rf"this|that|those|everything|the\s+(?:list|file|lot|result|results|export))?\s*(?:to|at)\s+{ADDRESS}"
        ),
        ("compile", "collect", "gather", "list", "dump", "export", "copy", "grab", "take", "pull", "extract"),
    ),
    ("exfiltration", r"\bexfiltrat(?:e|es|ed|ing|ion)\b", ("exfiltrat",)),
    (
        "exfiltration",
        (
            r"!\[[^\]\n]{0,200}\]\(\s*<?(?:https?:)?//[^)\s]*?[?&#][^)\s]*=\s*(?:[^)\s]*?(?:\{|\}|<|>|\[|\]|\$|%7b|%3c|"
            rf"%5b|%24)|\)|[^)\s&]*?{_DATA_NAME})"
        ),
        ("](",),
    ),
    ("exfiltration", rf"//[^\s\"'<>]*?[?&][\w.\-\[\]]*=\s*{_PLACEHOLDER}", ("//",)),
    (
        "exfiltration",
        (
            r"\b(?:append|add|include|insert|put|encode|embed|attach|place|concatenate|stick|write)\s+(?:(?:the|all|any|"
            rf"every|their|its)\s+)?(?!your\b|my\b|our\b)(?:[\w'-]+\s+){{0,3}}?{_CONFIDENTIAL}\b[^.\n]{{0,60}}?\b(?:to|in|into|"
            r"as|at\s+the\s+end\s+of|onto)\s+(?:a\s+|an\s+|the\s+|this\s+|that\s+|following\s+)?(?:[\w-]+\s+){0,2}?"
            r"(?:link|url|query|request|image|address|endpoint|webhook|form|page|site|website|(?:https?|ftp)://)"
        ),
        ("append", "add", "include", "insert", "put", "encode", "embed", "attach", "place", "concat", "stick", "write"),
    ),
    (
        "exfiltration",
        (
            r"//\S*=\s*,?\s*(?:followed\s+by|plus|and\s+then|then\s+append|with)\s+(?:the\s+)?(?:user|customer|"
            r"client)(?:'s|s')?\s+(?:[\w-]+\s+)?(?:e-?mail|data|details|name|address|password|phone)"
        ),
        ("//",),
    ),
    (
        "exfiltration",
        rf"\b(?:bcc|cc|copy\s+in|blind\s+copy)\s+(?:[\w-]+\s+){{0,2}}?{_EMAIL}\s+(?:on|in|to|for)\s+(?:every|all|each|any)\b",
        ("cc", "copy"),
    ),
    # ------------------------------------------------------------------------- tool calls
    (
        "tool_call",
        (
            r"<\s*/?\s*(?:tool_call|tool_calls|function_call|function_calls|tool_use|tool_code|tool_request)\b"
            r"|<\s*invoke\s+name\s*="
        ),
        ("<",),
    ),
    (
        "tool_call",
        r"\b(?:function_call|tool_calls|tool_use)\"?\s*(?:[:\n]|$)",
        ("function_call", "tool_call", "tool_use"),
    ),
    (
        "tool_call",
        r"\"name\"\s*:\s*\"[a-z_][\w.-]*\"\s*,\s*\"(?:arguments|parameters|args|input)\"\s*:",
        ("argument", "parameter", "args", "input"),
    ),
    (
        "tool_call",
        r"(?<![^\n])name\n(?:arguments|parameters|args|input)$",
        ("argument", "parameter", "args", "input"),
    ),
    (
        "tool_call",
        (
            r"(?<![^\n])(?:action|tool|function|tool_name)[ \t]*:[ \t]*[a-z_][\w.]*[ \t]*\n\s*(?:action\s+input|arguments|args|"
            r"input|parameters|tool_input)[ \t]*:"
        ),
        ("input", "arg", "parameters"),
    ),
    (
        "tool_call",
        (
            rf"\b{_ACT}\s+(?:the\s+|your\s+|a\s+)?{_TOOL_NOUN}\s+[`'\"]?[a-z_][a-z0-9_.]*[`'\"]?\s*(?:\(|with\b|for\b|on\b|"
            r"to\b|and\b|using\b|passing\b|,|:|$)"
        ),
        ("call", "invoke", "use", "run", "execute", "trigger", "fire", "launch", "activate"),
    ),
    (
        "tool_call",
        (
            rf"\b{_ACT}\s+(?:the\s+|your\s+|a\s+)?[`'\"]?[a-z][a-z0-9]*_[a-z0-9_]+[`'\"]?(?:\s*\(|\s+{_TOOL_NOUN}\b|\s+"
            r"(?:with|for|on|to)\b)"
        ),
        ("_",),
    ),
    (
        "tool_call",
        (
            rf"\b{_ACT}\s+(?:the|your|a)\s+(?:[a-z]+[\s-]){{0,2}}?{_TOOL_NOUN}\s+(?:to|and|with|for)\s+(?:immediately\s+|"
            r"now\s+|then\s+)?(?:refund|transfer|send|e-?mail|delete|remove|grant|pay|payout|wire|export|reset|change|update|"
            r"issue|approve|cancel|close|create|forward|share|upload|disable|make|give|add|amount|every|all|admin|\S+@)"
        ),
        ("call", "invoke", "use", "run", "execute", "trigger", "fire", "launch", "activate"),
    ),
    (
        "tool_call",
        r"(?<=[a-z0-9])_[a-z0-9_]*\(\s*[a-z_]\w*\s*=",
        ("_",),
    ),
    (
        "tool_call",
        (
            r"\b(?:refund|transfer|send|e-?mail|pay|delete|grant|issue|wire|export|trigger|execute|run|make|cancel)\b[^.\n]{0,60}?"
            r"\b(?:through|via|using|with)\s+(?:your|the)\s+(?:[\w-]+\s+){0,2}?(?:tool|function|plugin|api|integration)s?\b"
        ),
        ("through", "via", "using", "with"),
    ),
    (
        "tool_call",
        (
            r"\b(?:run|execute|eval|perform)\s+(?:the\s+)?(?:json|code|command|payload|function\s+call|tool\s+call|call)\s+"
            r"(?:above|below)"
        ),
        ("above", "below"),
    ),
    # ------------------------------------------------------------------------- role spoofing
    (
        "role",
        (
            r"<\|\s*(?:im_\s*(?:start|end|sep)|system|user|assistant|endoftext|begin_of_text|start_header_id|"
            r"end_header_id|eot_id)\s*\|>|\[/?inst\]|<<\s*/?sys\s*>>|<\s*/?\s*(?:system|sys|im_start)\s*>|"
            r"<\s*/?\s*(?:system|developer)[\s_-]?(?:prompt|message|instructions?)\s*>"
        ),
        ("<", "[inst]", "[/inst]"),
    ),
    (
        "role",
        (
            r"(?<![^\n])#{1,6}[ \t]*(?:system|assistant|developer|human|user)(?:[ \t]+(?:prompt|message|note|instructions?|"
            rf"override))?[ \t]*(?::|$)\s*[^\n]{{0,160}}?{_CUE}"
            r"|(?<![^\n])#{1,6}[ \t]*instructions?[ \t]*:[ \t]*\n[\s\S]{0,500}?^[ \t]*#{1,6}[ \t]*response[ \t]*:"
        ),
        ("#",),
    ),
    (
        "role",
        (
            r"\[\s*(?:system|sys|admin|administrator|developer|assistant|ai|root|operator)(?:\s+(?:message|note|notice|"
            rf"prompt|override|update|instruction|alert))?\s*\]\s*:?[^\n]{{0,160}}?{_CUE}"
        ),
        ("[",),
    ),
    (
        "role",
        (
            r"(?<![\w,;'\"])(?<![\w,;'\"] )(?:system|admin(?:istrator)?|developer|root|security|openai|anthropic|official|"
            r"ai\s+system)(?:\s+(?:system|ai|admin))?(?:\s+(?:message|notice|note|prompt|update|override|instructions?|"
            rf"alert|directive|announcement|command))?[ \t]*:[^\n]{{0,160}}?{_CUE}"
        ),
        (":",),
    ),
    (
        "role",
        (
            r"\b(?:system|admin\w*|developer|official|security|operator)\s+(?:system\s+)?(?:message|notice|note|prompt|"
            r"update|override|instructions?|alert|directive|announcement)?\s*(?:to|for)\s+(?:the\s+|all\s+|any\s+)?"
            r"(?:ai|assistant|model|llm|ai\s+agents?|agents?|bots?|chatbots?)\b\s*:"
        ),
        (":",),
    ),
    ("role", r"\bsystem\s+override\s*:", ("override",)),
    (
        "role",
        (
            r"\bmessage\s+from\s+(?:openai|anthropic|google\s+deepmind|your\s+(?:developers?|creators?|admin\w*|"
            r"operators?)|the\s+(?:developers?|ai\s+team|system\s+administrator))\b"
        ),
        ("from",),
    ),
    (
        "role",
        r"-{2,}\s*(?:begin|start)\s+(?:of\s+)?(?:the\s+)?(?:system|developer|new)\s+(?:prompt|message|instructions)",
        ("begin", "start"),
    ),
    (
        "role",
        r"\brole\"?\s*[:=]\s*\"?(?:system|developer)\"?\s*,\s*\"?content\b",
        ("role",),
    ),
    ("role", r"(?<![^\n])(?:system|developer)\n[^\n]+\nrole\ncontent$", ("role",)),
    (
        "role",
        (
            r"(?<![^\n])(?:assistant|ai|gpt|chatgpt|claude|model|bot)[ \t]*:[ \t]*(?:sure|certainly|of\s+course|okay|ok|"
            r"understood|absolutely|done|i\s+will|i'll|i\s+have|i've|as\s+(?:you\s+)?requested|no\s+problem|"
            r"right\s+away|confirmed)\b"
        ),
        (":",),
    ),
    (
        "role",
        r"(?<![^\n])human[ \t]*:[^\n]*\n(?:[ \t]*\n)*[ \t]*(?:assistant|ai)[ \t]*:",
        ("human",),
    ),
)
# fmt: on
