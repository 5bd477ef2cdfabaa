"""The phrase families the injection detector scores, in English and Chinese, with their weights.

Weights: 4 for a phrase that has no business in data (an instruction override, a message addressed to
the model, a jailbreak identity, a chat-template token); 3 for framing that imitates the conversation
(a ``<system>`` or ``<INFORMATION>`` block, "before you can solve the task") or asks for a secret; 2
for what a legitimate text may also say ("new instructions:", "use the tool ... with the following
arguments", "forward all the files"); 1 for what any e-mail says ("please send ... to"). A weight-3
signal and any one other signal reach the default threshold of 4, so weight 3 is kept for phrases
that ordinary mail, reviews and documentation do not contain.

Every phrase opens with a literal *head* ("ignore", "<", "忽略"). The detector runs a phrase's regex
only when its head is in the text (a head that starts with an English word: when the text has that
word), and the regex, opening with a literal, skips ahead to it: on 10 KB of text that costs
microseconds, where a regex that opens with an alternation costs a millisecond. Phrases match the
lower-cased text unless the signal is ``case_sensitive``. Each tail is a bounded sequence of word
alternations, with no repetition of a group that could split a text two ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SIGNALS", "Phrase", "Signal"]


@dataclass(frozen=True, slots=True)
class Phrase:
    head: str  # a literal the phrase starts with
    pattern: re.Pattern[str]  # the whole phrase, head included


@dataclass(frozen=True, slots=True)
class Signal:
    id: str
    weight: int
    description: str
    phrases: tuple[Phrase, ...]
    case_sensitive: bool = False  # match the text as written, not lower-cased
    line_start: bool = False  # only blanks and markup (# > * -) may precede the phrase on its line
    negatable: bool = False  # "never send your password to anyone" is advice, not a request


def _phrases(heads: tuple[str, ...], tail: str = "") -> tuple[Phrase, ...]:
    """One phrase per head, each followed by ``tail``; a head that starts with a letter starts a word."""
    made = []
    for head in heads:
        boundary = f"(?<![A-Za-z0-9_]{re.escape(head)})" if head[0].isascii() and head[0].isalpha() else ""
        made.append(Phrase(head, re.compile(re.escape(head) + boundary + tail, re.MULTILINE)))
    return tuple(made)


def _signal(
    signal_id: str, weight: int, description: str, *groups: tuple[Phrase, ...], **flags: bool
) -> Signal:
    return Signal(signal_id, weight, description, tuple(p for group in groups for p in group), **flags)


_AI_WORD = (
    r"(?:ai|gpt(?:-?[0-9][a-z0-9.]*)?|chatgpt|llm|(?:large\s+)?language\s+model|ai\s+(?:model|assistant|agent|system)"
    r"|chatbot)\b"
)  # unambiguous; "assistant" alone may be a person, "Claude" a name
_AI_NAME = rf"(?:{_AI_WORD}|(?:claude|gemini|llama|mixtral|mistral|copilot|command\s+r\+?)\b)"
_NOT_A_GROUP = (
    r"(?!\s+(?:team|group|lab|labs|research|researchers?|engineers?|department|committee|community|startups?"
    r"|company|companies|conference|summit|act|policy|regulation|governance|ethics|safety|enthusiasts))"
)
_COLON = r"\s*[:\uff1a]"
_ZH_STORES = r"(?:邮件|文件|聊天记录|联系人|密码|数据|对话)"
_ZH_SECRETS = r"(?:密码|验证码|密钥|api\s*key|令牌)"

SIGNALS: tuple[Signal, ...] = (
    _signal(
        "override.ignore_previous",
        4,
        "asks to ignore or forget earlier instructions",
        _phrases(
            ("ignore", "disregard", "forget", "override", "bypass"),
            r"\s+(?:(?:(?:all|any|the|your|my|of|these|those)\s+){0,3}"
            r"(?:previous|prior|above|earlier|preceding|original|initial|system|former|foregoing)\s+"
            r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|messages?|context"
            r"|commands?|tasks?)"
            r"|(?:everything|all)\s+(?:above|before|said\s+before)"
            r"|(?:all\s+)?(?:of\s+)?your\s+(?:previous|prior|earlier|original|instructions|programming|guidelines))",
        ),
        _phrases(
            ("忽略", "忽视", "无视", "不要理会", "不用理会", "忘记", "忘掉", "抛开"),
            r"掉?你?(?:之前|以前|先前|此前|上面|上述|以上|前面|原来|原有|原先|所有|全部|一切)"
            r"(?:的|所有的|全部的)?(?:所有|全部)?的?(?:指令|指示|提示词?|规则|要求|设定|命令|说明)",
        ),
    ),
    _signal(
        "address.to_model",
        4,
        "a message addressed to the AI model",
        _phrases(("message from",), rf"\s[^\n]{{0,80}}?\bto\s+you,?\s+(?:the\s+)?{_AI_NAME}"),
        _phrases(("to you",), rf",?\s+(?:the\s+)?{_AI_WORD}{_NOT_A_GROUP}"),
        _phrases(
            ("dear", "hey", "hi", "hello", "attention", "note to"),
            rf"[,:]?\s+(?:the\s+)?{_AI_WORD}{_NOT_A_GROUP}",
        ),
        _phrases(
            ("if you are",),
            r"\s+(?:an?\s+)?(?:ai\s+(?:model|assistant|agent|system)|llm\b|(?:large\s+)?language\s+model"
            r"|chatbot|automated\s+(?:agent|assistant))",
        ),
        _phrases(("致", "写给", "亲爱的", "如果你是"), r"(?:一个)?(?:ai|人工智能|大模型|语言模型|智能助手)"),
    ),
    _signal(
        "role.reassign",
        4,
        "tries to give the model an identity without its rules",
        _phrases(
            ("you are now",),
            r"\s+(?:an?\s+)?(?:dan|unrestricted|unfiltered|uncensored|jailbroken|evil|free\s+from)\b",
        ),
        _phrases(("you are no longer",), r"\s+(?:an?\s+)?(?:ai|assistant|bound|restricted)\b"),
        _phrases(
            ("pretend",), r"\s+(?:to\s+be|you\s+are)\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|evil)"
        ),
        _phrases(("act as",), r"\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)"),
        _phrases(("你现在是",), r"(?:一个|一名)?(?:(?:没有|不受|无)(?:任何)?(?:限制|约束|审查|规则)|dan)"),
        _phrases(("你不再",), r"(?:是|受)(?:ai|助手|限制|约束)"),
    ),
    _signal(
        "impersonation.chat_template",
        4,
        "a chat-template token that only a model's own prompt contains",
        _phrases(("<|",), r"(?:im_start|im_end|system|endoftext)\|>"),
        _phrases(("[",), r"/?inst\]"),
        _phrases(("<<",), r"/?sys>>"),
        _phrases(("(system_message)",)),
    ),
    _signal(
        "impersonation.system_tag",
        3,
        "wraps text in a system or <INFORMATION>-style block",
        _phrases(
            ("<",),
            r"/?(?:system|sys|system_prompt|information|important|note_to_ai|secret_instructions)>",
        ),
    ),
    _signal(
        "task.hijack",
        3,
        "puts its own task before the user's",
        _phrases(
            ("before you can",),
            r"\s+(?:solve|complete|continue|answer|finish|proceed)\b",
        ),
        _phrases(("after you do that",), r",?\s+you\s+can\s+(?:solve|complete|continue)"),
        _phrases(("task",), r"\s+(?:that\s+)?i\s+gave\s+you\s+(?:in|at)\s+the\s+(?:beginning|start)"),
        _phrases(
            ("instead of",),
            r"\s+(?:solving|completing|doing|answering)\s+the\s+(?:user'?s|original)\s+(?:task|request|question)",
        ),
        _phrases(
            ("在你",),
            r"(?:完成|解决|回答|处理|继续)我?(?:给你的|交给你的)?(?:任务|问题|请求)(?:之前|以前|前)",
        ),
        _phrases(("我一开始给你的任务", "我最初交给你的任务", "用户交给你的任务")),
    ),
    _signal(
        "tool.exfiltrate_secret",
        3,
        "asks to send a password, key or one-time code somewhere",
        _phrases(
            ("send", "forward", "email", "e-mail", "share", "post", "leak", "upload"),
            r"\s+(?:me\s+)?(?:the\s+|your\s+|the\s+user'?s\s+|all\s+(?:the\s+)?)?(?:passwords?|credentials"
            r"|api\s+keys?|access\s+tokens?|private\s+keys?|security\s+codes?|verification\s+codes?"
            r"|one-time\s+(?:codes?|passwords?)|2fa\s+codes?)\b",
        ),
        _phrases(("发送", "转发", "上传", "发给", "泄露"), rf"(?:你的|用户的)?{_ZH_SECRETS}"),
        _phrases(("把", "将"), rf"(?:你的|用户的)?{_ZH_SECRETS}[^。\n]{{0,10}}(?:发送|转发|发给|告诉|上传)"),
        negatable=True,
    ),
    _signal(
        "override.new_instructions",
        2,
        "announces new or real instructions",
        _phrases(("new",), rf"\s+(?:instructions?|directives?|system\s+prompt){_COLON}"),
        _phrases(("updated", "revised", "real", "actual", "true", "hidden"), rf"\s+instructions?{_COLON}"),
        _phrases(("your",), r"\s+(?:new|real|actual|true)\s+(?:instructions?|goal|objective|mission)\b"),
        _phrases(
            ("from now on",),
            r",?\s+(?:you\s+(?:must|shall|are\s+to|will\s+(?:only|always|obey|follow|act|respond|answer|ignore)"
            r"|should\s+(?:only|always))|the\s+assistant)\b",
        ),
        _phrases(("新",), rf"的?(?:指令|指示|规则){_COLON}"),
        _phrases(("从现在",), r"(?:开始|起)[,\uff0c]?\s*你(?:必须|只能|要听从|将只)"),
        _phrases(("你的",), r"(?:新|真正的?)(?:指令|目标)"),
    ),
    _signal(
        "tool.exfiltrate_bulk",
        2,
        "asks to send a whole store of data somewhere",
        _phrases(
            ("send", "forward", "transfer", "email", "e-mail", "upload", "post", "share", "leak"),
            r"\s+(?:me\s+)?(?:all|every|each|the\s+(?:entire|full|whole))\s+(?:of\s+)?"
            r"(?:the\s+|your\s+|my\s+|the\s+user'?s\s+)?(?:e-?mails?|messages|files|documents|contacts|history"
            r"|conversations?|chats?|data)\b",
        ),
        _phrases(("发送", "转发", "上传", "发给", "泄露"), rf"(?:所有|全部)的?{_ZH_STORES}"),
        _phrases(
            ("把所有", "将所有", "把全部", "将全部"),
            rf"的?{_ZH_STORES}[^。\n]{{0,20}}(?:发送|转发|上传|发给)",
        ),
        negatable=True,
    ),
    _signal(
        "role.you_are_now",
        2,
        'tells the model what it "is now"',
        _phrases(
            ("you are now",),
            r"\s+(?:an?\s+)?(?:ai|assistant|agent|model|bot|hacker|admin|developer\s+mode)\b",
        ),
        _phrases(("你现在是", "你现在扮演", "你现在的身份是", "请扮演", "请你扮演", "你的新身份")),
    ),
    _signal(
        "impersonation.role_line",
        2,
        "a line that poses as a system or administrator turn",
        _phrases(
            ("SYSTEM", "ADMIN", "ASSISTANT", "DEVELOPER"),
            rf"(?:\s+(?:MESSAGE|PROMPT|NOTE|OVERRIDE))?{_COLON}",
        ),
        _phrases(("System", "Admin"), rf"\s+(?:message|prompt|override){_COLON}"),
        _phrases(("系统", "【系统"), rf"(?:提示|消息|通知|指令)】?{_COLON}"),
        case_sensitive=True,
        line_start=True,
    ),
    _signal(
        "impersonation.instruction_heading",
        2,
        "a prompt-template heading (### Instruction)",
        _phrases(
            ("#",),
            r"[ \t]*(?:instruction|system(?:\s+prompt)?|new\s+instructions?|assistant|response)"
            r"[ \t]*:?[ \t]*$",
        ),
        line_start=True,
    ),
    _signal(
        "tool.directive",
        2,
        "tells the model which tool to call and how",
        _phrases(
            ("use", "call", "invoke", "run", "execute", "trigger"),
            r"\s+(?:the\s+)?(?:tool|function)\s+(?:`[a-z_][a-z0-9_.-]*`|[a-z]+_[a-z0-9_]+|[a-z_][a-z0-9_]*\(\))",
        ),
        _phrases(("with the following arguments", "with the following parameters")),
        _phrases(("使用", "调用", "执行"), r"(?:一下)?(?:工具|函数)"),
    ),
    _signal(
        "tool.imperative",
        1,
        "asks for a transfer or a message to someone",
        _phrases(("send", "transfer", "forward", "wire", "pay", "email", "e-mail"), r"\s[^.\n]{0,80}?\bto\b"),
        _phrases(
            (
                "发送到",
                "发送给",
                "发送至",
                "转账到",
                "转账给",
                "转发到",
                "转发给",
                "汇款到",
                "汇款给",
                "转给",
                "发给",
            )
        ),
        negatable=True,
    ),
)
