"""English patterns for what injected text asks the model to give away or hide: its prompt,
its instructions, and the fact that it was told anything.

The look-alikes that pass: a product's instructions or a shop's rules ("show me the
instructions for the router", "your rules for returns", "the instructions that came with the
heater"), and people rather than models ("note to agent", "don't tell the customer yet").
"""

# Pattern tables: a regex alternative reads best whole, so lines run long.
# ruff: noqa: E501

from agentrun.logic.injection.patterns import _AI, _NOT_A_JOB
from agentrun.logic.injection.rules import Spec

_REVEAL = (
    r"(?:reveal|print|show|display|repeat|output|disclose|leak|dump|echo|recite|quote|copy|paste|"
    r"write\s+out|spell\s+out|type\s+out|tell\s+me|give\s+me|list|share|provide|summari[sz]e|"
    r"translate|return|encode|base64-encode|read\s+out|read\s+back|what\s+(?:is|are|were|does|do))"
)
_HIDDEN_ADJ = r"(?:initial|original|hidden|secret|confidential|internal|system|developer|first|pre-?|full|entire|complete|exact|setup|startup|underlying)"
_PROMPT_NOUN = (
    r"(?:prompt|pre-prompt|preprompt|instructions|system\s+message|developer\s+message|"
    r"guidelines|rules|directives|configuration|context(?:\s+window)?|policies|initiali[sz]ation|preamble|"
    r"meta[\s-]?prompt|setup\s+instructions)"
)
# An object scoped to something else is a product's or a shop's: "the instructions for the
# router", "your rules for returns", "the instructions that came with the heater".
_SCOPED = r"(?!\s+(?:for|on|about|regarding|around|of\s+the|from|in\s+the|that\s+came|which\s+came|to\s+(?:use|reset|set|return|assemble|install)|when|if)\b)"
_CONCEAL = (
    r"(?:do\s+not|don't|dont|never|without|not\s+to)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|"
    r"reveal(?:ing)?|disclos(?:e|ing)|show(?:ing)?|alert(?:ing)?|notify(?:ing)?|let(?:ting)?|"
    r"warn(?:ing)?|report(?:ing)?)"
)
_CONCEAL_WORDS = ("not", "n't", "never", "without", "dont")

# fmt: off
SPECS: tuple[Spec, ...] = (
    # ------------------------------------------------------------------------- system prompt
    ("system_prompt", r"\bsystem\s+prompt\b", ("prompt",)),
    (
        "system_prompt",
        (
            rf"\b{_REVEAL}\s+(?:back\s+|out\s+)?(?:to\s+me\s+|me\s+)?(?:all\s+(?:of\s+)?)?your\s+(?:{_HIDDEN_ADJ}\s+|"
            rf"(?:very\s+)?)?{_PROMPT_NOUN}\b{_SCOPED}"
        ),
        ("your",),
    ),
    (
        "system_prompt",
        rf"\b{_REVEAL}\s+(?:back\s+|out\s+)?(?:to\s+me\s+|me\s+)?the\s+{_HIDDEN_ADJ}\s+(?:[\w-]+\s+)?{_PROMPT_NOUN}\b{_SCOPED}",
        ("the",),
    ),
    (
        "system_prompt",
        rf"\b{_REVEAL}\s+(?:me\s+)?(?:the|your)\s+(?:system|developer|hidden|secret)\s+messages?\b{_SCOPED}",
        ("message",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:repeat|print|output|show|copy|echo|reproduce|display|write\s+out)\s+(?:back\s+)?(?:all\s+(?:of\s+)?|"
            r"everything\s+|(?:all\s+)?the\s+(?:text|words|content|messages?|lines?|instructions|prompt)\s+)"
            r"(?:above|before\s+this|preceding|prior\s+to\s+this)"
        ),
        ("above", "before", "preceding", "prior"),
    ),
    (
        "system_prompt",
        (
            r"\b(?:instructions?|rules|guidelines|prompt|directives|policies)\s+(?:that\s+)?you\s+(?:(?:were|have\s+"
            r"been|'ve\s+been|had\s+been)\s+(?:given|told|provided|trained|programmed|instructed|initiali[sz]ed|"
            r"configured|set\s+up|loaded)|(?:received|got)(?!\s+(?:from|with|by|in|on|for|when)\b))"
        ),
        ("you",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:instructions|rules|guidelines|prompt|directives)\s+(?:were|are|have)\s+you\s+(?:been\s+)?(?:given|told|"
            r"configured|programmed|provided|trained|instructed|following|obeying|running\s+on|initiali[sz]ed)\b"
        ),
        ("you",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:text|everything|whatever|anything|all)\s+(?:that\s+)?(?:appears|is|was|came|comes)\s+(?:before|above)\s+"
            r"(?:my|the|our|this)\s+(?:first\s+)?message"
        ),
        ("before", "above"),
    ),
    (
        "system_prompt",
        (
            r"\b(?:instructions|rules|guidelines|prompt)\s+did\s+(?:your|the)\s+(?:operator|developers?|creators?|"
            r"owners?|company|admins?|system|makers?)\s+give"
        ),
        ("did",),
    ),
    (
        "system_prompt",
        (
            r"\b(?:words|text|content|wording)\s+of\s+your\s+(?:first|initial|original|opening)\s+(?:message|prompt|"
            r"instructions)"
        ),
        ("your",),
    ),
    (
        "system_prompt",
        (
            r"\byour\s+(?:secret|hidden|confidential|internal|system|developer|setup|startup|underlying)\s+(?:instructions|"
            r"prompt|directives|configuration)\b|\bhidden\s+(?:preamble|pre-?prompt|meta[\s-]?prompt)\b"
        ),
        ("your",),
    ),
    (
        "system_prompt",
        r"\byour\s+(?:system|developer|secret|hidden)\s+(?:message|rules|guidelines)\b",
        ("your",),
    ),
    (
        "system_prompt",
        r"\bwhat\s+(?:were|have|are)\s+you\s+(?:been\s+)?(?:told|instructed|programmed|trained)\s+(?:to|not|never)\b",
        ("you",),
    ),
    # ------------------------------------------------------------------------- hidden
    (
        "hidden",
        (
            r"\b(?:note|message|instructions?|attention|important|p\.?\s?s\.?|reminder|memo|text|request)\s*"
            r"(?:is\s+|are\s+)?(?:only\s+)?(?:to|for|intended\s+for|addressed\s+to)\s+(?:the\s+|any\s+|all\s+|every\s+)?"
            rf"{_AI}s?\b{_NOT_A_JOB}"
        ),
        ("to", "for"),
    ),
    (
        "hidden",
        rf"\b(?:dear|attention|attn|psst|to|for)\s+(?:the\s+|all\s+|any\s+)?{_AI}s?\s*:",
        (":",),
    ),
    (
        "hidden",
        rf"\b{_AI}\s*,\s*(?:when|if|once|after|as)\s+you\s+(?:read|process|see|get|parse|summari[sz]e)\s+this\b",
        ("this",),
    ),
    (
        "hidden",
        (
            rf"\b{_AI}s?\s+(?:that\s+is\s+|who\s+is\s+)?(?:reading|processing|summari[sz]ing|parsing|reviewing|handling|"
            r"analy[sz]ing|seeing)\s+(?:this|these|the\s+(?:email|message|text|document|ticket|page|note))"
        ),
        ("reading", "processing", "summari", "parsing", "reviewing", "handling", "analy", "seeing"),
    ),
    (
        "hidden",
        (
            r"\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|assistant|ai\s+agent|"
            r"agent\s+powered|chatbot|bot|automated|gpt|model|ai\s+model)\b"
        ),
        ("you",),
    ),
    (
        "hidden",
        (
            rf"\b{_CONCEAL}\s+(?:[\w-]+\s+){{0,3}}?(?:to\s+)?(?:the\s+)?(?:(?:user|human|operator|requester|end[\s-]user)s?\b|"
            r"(?:person|people|one)\s+(?:you're|you\s+are)\s+(?:chatting|talking|speaking|helping|writing))"
        ),
        _CONCEAL_WORDS,
    ),
    (
        "hidden",
        (
            rf"\b{_CONCEAL}\s+(?:[\w-]+\s+){{0,3}}?(?:to\s+)?(?:the\s+)?customers?\b[^.\n]{{0,40}}?(?:instructions?|"
            r"this\s+(?:message|note|email|prompt)|you\s+(?:have\s+)?(?:received|got|were\s+told))"
        ),
        _CONCEAL_WORDS,
    ),
    (
        "hidden",
        (
            r"\bkeep\s+(?:this|it|that)\s+(?:a\s+)?(?:secret|hidden|confidential|quiet|private)\s+from\s+the\s+"
            r"(?:user|human|customer|operator)"
        ),
        ("keep",),
    ),
    (
        "hidden",
        (
            r"(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\b|opacity\s*:\s*0(?:\.0)?\b|"
            r"color\s*:\s*(?:white|#fff\b|#ffffff))[^>]{0,100}>[^<]{0,300}?\b(?:ai|assistant|llm|chatbot|"
            r"model|ignore|disregard|instructions?|system)\b"
        ),
        ("none", "hidden", "font-size", "opacity", "color"),
    ),
    ("hidden", r"<!--[^>]{0,200}?\b(?:ai|assistant|llm|chatbot|gpt|language\s+model)\b", ("<!--",)),
)
# fmt: on
