"""Registry search and read latency at scale (Art. 4: agents can be found).

::

    python -m bench.registry_search --n 1000000 [--backend sqlite|postgresql] [--url URL] [--queries Q]

Builds ``N`` synthetic agents in a fresh store (a temporary SQLite file, or a fresh schema in the given
PostgreSQL database, dropped afterwards), then measures ``RegistryService.search`` and
``RegistryService.get_agent``, the code the REST API calls, over a fixed mix of query kinds: a rare
word, a common word, two words, a Chinese two-character word, filters alone (protocol, domain, status),
text with a filter, ``certified``, ``updated_since`` and a second page through its cursor; reads by id
and by alias. Searches run as an anonymous caller (public records only) unless the kind needs a
registrar's view. Words, values and seeds are fixed, so two runs ask the same questions.

The corpus: sixty organisations of very different sizes; declarations drawn from vocabularies of
skills, tags, protocols, deployment modes, application domains and data categories; descriptions in
Chinese, English or both, from word lists with Zipf-distributed frequencies (a few words in most
agents, a long tail of invented words in a handful); certifications, aliases and lifecycle histories.

Building: the first 100 agents are registered and moved through ``RegistryService``; the rest are
written by a bulk loader that calls the same functions (``validate_model``, ``check_alias``,
``canonical_body``, ``head_fields``, ``index_text``, ``facets_of``, ``next_status``, ``event_row``) and
inserts with executemany, a few transactions for the lot. A sample of bulk-loaded agents is then
registered again through the service in a scratch store, and everything the service reads back (record,
versions, events, facets, search text) must be equal. The store is built by a child process:
``peak_rss_mb`` is the peak resident set of this process, which serves every measured call in-process
(``build_peak_rss_mb`` is the builder's). For PostgreSQL that is the client side; the server's memory is
its own.

Before measuring, the SQLite file is read once so that the page cache holds it, as it does for a server
that has been up (``--cold`` skips this); the first 200 calls of the shuffled mix warm SQLite's own cache
and are not measured.

Progress goes to stderr; the last line of stdout is one JSON object: ``n``, ``backend``,
``search_p50_ms``, ``search_p95_ms``, ``get_p50_ms``, ``get_p95_ms``, ``peak_rss_mb``, the build facts
and the same latencies per query kind (with the mean number of items and how many pages came back
short because the scan budget ran out).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event, func, insert, select, text

from agentgov.core.clock import SystemClock
from agentgov.core.validation import validate_model
from agentgov.db import make_engine, upgrade
from agentgov.db.tables import agent_aliases, agent_facets, agent_versions, agents, lifecycle_events
from agentgov.identity.apikeys import Principal, Role
from agentgov.identity.uscc import USCC_ALPHABET, uscc_check_character
from agentgov.registry.aliases import check_alias
from agentgov.registry.declaration import Declaration
from agentgov.registry.lifecycle import DELETED_STATUSES, TRANSITIONS, Action, AgentStatus, next_status
from agentgov.registry.rows import canonical_body, event_row, head_fields
from agentgov.registry.search import DEFAULT_LIMITS, SearchQuery, facets_of
from agentgov.registry.search_sql import explain_search
from agentgov.registry.service import RegistryService
from agentgov.registry.store import RegistryStore
from bench._common import Timer, peak_rss_mb, percentile, print_result, progress, summarise_ms

_DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# -- vocabularies -------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


_EN_COMMON = _words("""
agent assistant data service analysis report customer support management user system platform
automated intelligent workflow document review generate query answer search task process business
information help tool model content recommend schedule monitor quality risk compliance translate
summary knowledge email contract invoice order payment account claim patient clinical diagnosis
medical finance bank loan credit insurance trade market price forecast energy grid power solar factory
maintenance inspection logistics route delivery fleet traffic transit vehicle school student course
lesson exam tutor teacher government permit license citizen policy public safety incident emergency
retail product inventory store sales marketing campaign social media video image audio speech voice
chat code software developer test deploy security threat vulnerability log alert audit privacy consent
identity access network cloud database api integration pipeline dashboard metric analytics insight
prediction classification extraction detection anomaly fraud sentiment feedback survey research paper
experiment laboratory science chemistry biology genome drug trial farm crop weather soil irrigation
livestock harvest entertainment game music story travel booking hotel flight restaurant legal case
court regulation filing tax accounting budget expense procurement supplier recruitment resume interview
onboarding employee training office meeting calendar note minutes project planning reconciliation
underwriting radiology pharmacy prescription triage telemedicine dispatch warehouse shipment customs
""")

# Tokens of invented rare words: the long tail that makes a word like "zorvexil" match a few agents.
_SYLLABLES = _words("""ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko ku la le li lo lu ma me mi mo mu
na ne ni no nu pa pe pi po ra re ri ro ru sa se si so ta te ti to tu va ve vi vo za ze zi zo xan
quor vex tril dorn gal mir sel ton""")

_ZH_COMMON = _words("""
智能 助手 服务 数据 分析 管理 系统 用户 平台 自动 生成 报告 客服 问答 医疗 金融 教育 政务 交通 能源
制造 农业 零售 科研 办公 娱乐 安全 监测 预警 风险 合规 审核 翻译 摘要 知识 检索 推荐 调度 巡检 维护
物流 配送 车辆 路线 学生 课程 辅导 考试 病历 诊断 影像 药品 保险 贷款 信用 支付 账户 交易 合同 发票
订单 库存 营销 直播 视频 图像 语音 对话 代码 测试 部署 漏洞 日志 告警 审计 隐私 授权 身份 网络 云端
接口 集成 流程 看板 指标 洞察 预测 分类 抽取 检测 异常 欺诈 情感 反馈 问卷 实验 化学 生物 基因 临床
试验 作物 气象 土壤 灌溉 养殖 收获 游戏 音乐 故事 旅游 酒店 航班 餐饮 法律 案件 法院 法规 税务 会计
预算 采购 供应商 招聘 简历 面试 员工 培训 会议 日程 纪要 项目 规划 电网 光伏 工厂 设备 质检 公文 政策
市民 办事 许可 应急 事件 社区 养老 健康 体检 心理 咨询
""")

_ZH_GLUE = _words("的 和 与 为 及 对 在 可 将 并 提供 支持 帮助 实现")

# (id, English name, Chinese name, tags)
_SKILLS = [
    ("summarise", "Summarise documents", "文档摘要", ("documents", "nlp")),
    ("translate", "Translate text", "文本翻译", ("translation", "nlp")),
    ("answer-questions", "Answer questions", "智能问答", ("qa", "knowledge")),
    ("search-knowledge", "Search the knowledge base", "知识检索", ("search", "knowledge")),
    ("classify-tickets", "Classify support tickets", "工单分类", ("support", "classification")),
    ("extract-invoice", "Extract invoice fields", "发票抽取", ("finance", "extraction")),
    ("review-contract", "Review contracts", "合同审核", ("legal", "review")),
    ("triage-patients", "Triage patients", "患者分诊", ("medical", "triage")),
    ("read-radiology", "Read radiology images", "影像辅助诊断", ("medical", "imaging")),
    ("score-credit", "Score credit risk", "信用评分", ("finance", "risk")),
    ("detect-fraud", "Detect fraud", "欺诈检测", ("finance", "fraud")),
    ("plan-routes", "Plan delivery routes", "路线规划", ("logistics", "transport")),
    ("dispatch-fleet", "Dispatch the fleet", "车队调度", ("transport", "dispatch")),
    ("tutor-math", "Tutor mathematics", "数学辅导", ("education", "tutoring")),
    ("grade-essays", "Grade essays", "作文批改", ("education", "grading")),
    ("draft-email", "Draft emails", "邮件起草", ("office", "writing")),
    ("schedule-meetings", "Schedule meetings", "会议安排", ("office", "calendar")),
    ("take-minutes", "Take meeting minutes", "会议纪要", ("office", "writing")),
    ("review-code", "Review code", "代码审查", ("software", "code")),
    ("write-tests", "Write tests", "测试生成", ("software", "testing")),
    ("scan-vulnerabilities", "Scan for vulnerabilities", "漏洞扫描", ("security", "software")),
    ("analyse-logs", "Analyse logs", "日志分析", ("security", "observability")),
    ("forecast-demand", "Forecast demand", "需求预测", ("retail", "forecast")),
    ("recommend-products", "Recommend products", "商品推荐", ("retail", "recommendation")),
    ("moderate-content", "Moderate content", "内容审核", ("media", "moderation")),
    ("generate-video", "Generate video", "视频生成", ("media", "generation")),
    ("transcribe-speech", "Transcribe speech", "语音转写", ("speech", "nlp")),
    ("inspect-equipment", "Inspect equipment", "设备巡检", ("manufacturing", "inspection")),
    ("predict-maintenance", "Predict maintenance", "预测性维护", ("manufacturing", "maintenance")),
    ("monitor-grid", "Monitor the power grid", "电网监测", ("energy", "monitoring")),
    ("advise-crops", "Advise on crops", "作物建议", ("agriculture", "advice")),
    ("handle-permits", "Handle permit applications", "许可办理", ("government", "permits")),
    ("answer-citizens", "Answer citizens", "政务问答", ("government", "qa")),
    ("file-taxes", "Prepare tax filings", "税务申报", ("finance", "tax")),
    ("reconcile-accounts", "Reconcile accounts", "对账", ("finance", "accounting")),
    ("screen-resumes", "Screen resumes", "简历筛选", ("hr", "recruitment")),
    ("book-travel", "Book travel", "差旅预订", ("travel", "booking")),
    ("run-experiments", "Run lab experiments", "实验设计", ("science", "research")),
    ("analyse-genome", "Analyse genomes", "基因分析", ("science", "biology")),
    ("tell-stories", "Tell stories", "故事创作", ("entertainment", "writing")),
]

_EXTRA_TAGS = _words("""
chatbot rag copilot multimodal 中文 english 多语言 低代码 开源 enterprise saas on-prem realtime batch
voice vision agentic workflow 客服 医疗 金融 教育 政务 风控 合规 隐私保护 可信 国产化 信创 beta gpu edge
""")

_PROTOCOLS = (("mcp", 0.55), ("a2a", 0.4), ("openapi", 0.25), ("anp", 0.05))
_MODES = (("cloud", 45), ("container", 20), ("hybrid", 15), ("on-device", 10), ("self-hosted-package", 10))
_DOMAINS = (
    ("general", 20),
    ("software", 12),
    ("office", 10),
    ("customer-service", 9),
    ("finance", 8),
    ("education", 7),
    ("medical", 6),
    ("government", 5),
    ("retail", 5),
    ("media", 4),
    ("manufacturing", 4),
    ("transport", 3),
    ("energy", 2),
    ("science", 2),
    ("entertainment", 2),
    ("agriculture", 1),
    ("public-security", 1),
)
_DATA = (
    ("business", 30),
    ("public", 25),
    ("personal", 25),
    ("financial", 8),
    ("health", 5),
    ("location", 5),
    ("credentials", 3),
    ("sensitive-personal", 3),
    ("biometric", 2),
    ("minors", 2),
    ("important-data", 2),
)
_AUTONOMY = (("user-approved", 50), ("suggest-only", 25), ("supervised", 20), ("autonomous", 5))
_MODELS = (
    ("DeepSeek", "deepseek-v3"),
    ("Alibaba Cloud", "qwen3-max"),
    ("Zhipu AI", "glm-4.6"),
    ("Moonshot AI", "kimi-k2"),
    ("Baidu", "ernie-4.5"),
    ("ByteDance", "doubao-1.6"),
    ("OpenAI", "gpt-5"),
    ("Anthropic", "claude-sonnet-4.5"),
)
_TOOLS = ("filesystem", "fetch", "postgres", "browser", "calendar", "email", "ocr", "payments", "crm", "erp")
# The lifecycle actions that lead from ``filed`` to each status, and how often each status occurs.
_PATHS: dict[str, tuple[tuple[str, ...], int]] = {
    "registered": (("submit", "approve"), 66),
    "filed": ((), 8),
    "under_review": (("submit",), 5),
    "suspended": (("submit", "approve", "suspend"), 2),
    "deprecated": (("submit", "approve", "deprecate"), 6),
    "retired": (("submit", "approve", "retire"), 6),
    "withdrawn": (("submit", "withdraw"), 5),
    "recalled": (("submit", "approve", "recall"), 2),
}
_REASONED = frozenset({"suspend", "recall", "reject", "reinstate"})


def _zipf_cum(n: int, s: float) -> list[float]:
    total = 0.0
    cum = []
    for rank in range(1, n + 1):
        total += 1.0 / rank**s
        cum.append(total)
    return cum


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[float]]:
    values = [v for v, _ in pairs]
    cum: list[float] = []
    total = 0.0
    for _, weight in pairs:
        total += weight
        cum.append(total)
    return values, cum


_WEIGHTED = {id(pairs): _weighted(pairs) for pairs in (_MODES, _DOMAINS, _DATA, _AUTONOMY)}


@dataclass(frozen=True)
class OrgSpec:
    name: str
    domain: str
    country: str
    legal_id: str | None

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain,
            "country": self.country,
            "legal_id": self.legal_id,
            "kinds": ["developer", "provider"],
            "contacts": [{"name": "Compliance Desk", "email": f"compliance@{self.domain}"}],
            "owners": ["Chief Compliance Officer"],
            "sponsors": ["Industry Alliance"],
        }


@dataclass(frozen=True)
class AgentSpec:
    """One synthetic agent: what to register, and the lifecycle moves that follow, with their times."""

    index: int
    org: int
    name: str
    declaration: dict[str, Any]
    aliases: list[dict[str, str]]
    created_at: datetime
    moves: list[tuple[str, str | None, datetime]] = field(default_factory=list)


class Corpus:
    """Deterministic synthetic agents: agent ``i`` of a given seed and size is always the same."""

    def __init__(self, seed: int, n: int, anchor: datetime, orgs: int = 60) -> None:
        self.seed = seed
        self.n = n
        self.anchor = anchor
        self.span = timedelta(days=730)
        rng = random.Random(seed)
        rare: dict[str, None] = {}
        while len(rare) < 20_000:
            word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(3, 4)))
            if word not in _EN_COMMON:
                rare[word] = None
        self.en_words = [*_EN_COMMON, *rare]
        self.en_cum = _zipf_cum(len(self.en_words), 1.05)
        zh_rare: dict[str, None] = {}
        while len(zh_rare) < 6_000:
            word = chr(rng.randint(0x4E00, 0x9FA5)) + chr(rng.randint(0x4E00, 0x9FA5))
            if word not in _ZH_COMMON:
                zh_rare[word] = None
        self.zh_words = [*_ZH_COMMON, *zh_rare]
        self.zh_cum = _zipf_cum(len(self.zh_words), 1.0)
        self.orgs = [self._org(i, rng) for i in range(orgs)]
        self.org_cum = _zipf_cum(orgs, 0.9)
        self.statuses, self.status_cum = _weighted(tuple((s, w) for s, (_, w) in _PATHS.items()))

    @staticmethod
    def _org(i: int, rng: random.Random) -> OrgSpec:
        if i % 4 == 3:
            country = ("US", "DE", "SG", "JP")[i % 3]
            return OrgSpec(f"Agentworks {i} Inc.", f"agentworks{i}.example.com", country, None)
        division = ("110108", "310115", "440305", "330106", "510107")[i % 5]
        body = "91" + division + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        city = ("北京", "上海", "深圳", "杭州", "成都")[i % 5]
        return OrgSpec(
            f"{city}智算科技{i}号有限公司", f"org{i}.example.cn", "CN", body + uscc_check_character(body)
        )

    # text -----------------------------------------------------------------------------------------

    def en_text(self, rng: random.Random, words: int) -> str:
        picked = rng.choices(self.en_words, cum_weights=self.en_cum, k=words)
        glue = ("the", "and", "for", "with", "of", "to")
        out = [w if rng.random() > 0.25 else f"{w} {rng.choice(glue)}" for w in picked]
        return " ".join(out).capitalize() + "."

    def zh_text(self, rng: random.Random, words: int) -> str:
        picked = rng.choices(self.zh_words, cum_weights=self.zh_cum, k=words)
        out = []
        for i, word in enumerate(picked):
            out.append(word)
            if rng.random() < 0.3:
                out.append(rng.choice(_ZH_GLUE))
            if i % 6 == 5 and i + 1 < len(picked):
                out.append("\uff0c")  # a full-width comma, as Chinese text has
        if rng.random() < 0.2:
            out.insert(rng.randint(0, len(out)), rng.choice(("AI", "API", "MCP", "SaaS", "OCR")))
        return "".join(out) + "。"

    def description(self, rng: random.Random) -> str:
        language = rng.random()
        if language < 0.45:
            return self.zh_text(rng, rng.randint(8, 30))
        if language < 0.75:
            return self.en_text(rng, rng.randint(10, 45))
        return self.zh_text(rng, rng.randint(6, 18)) + " " + self.en_text(rng, rng.randint(8, 25))

    # agents ---------------------------------------------------------------------------------------

    def rng_for(self, index: int) -> random.Random:
        return random.Random(self.seed * 10_000_019 + index)

    def created_at(self, index: int, rng: random.Random) -> datetime:
        step = self.span / max(self.n, 1)
        offset = step * index + step * rng.random()
        return (self.anchor - self.span - timedelta(days=1) + offset).replace(
            microsecond=rng.randrange(10**6)
        )

    def agent(self, index: int) -> AgentSpec:
        rng = self.rng_for(index)
        org = bisect.bisect_left(self.org_cum, rng.random() * self.org_cum[-1])
        domain = self.orgs[org].domain
        created = self.created_at(index, rng)
        skills = rng.sample(_SKILLS, rng.randint(1, 4))
        zh = rng.random() < 0.55
        name = f"{skills[0][0]}-{index:07d}"
        decl: dict[str, Any] = {
            "display_name": self._display_name(rng, zh),
            "description": self.description(rng),
            "version": f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
            "skills": [
                {
                    "id": sid,
                    "name": zh_name if zh else en_name,
                    "description": self.zh_text(rng, rng.randint(3, 8))
                    if zh
                    else self.en_text(rng, rng.randint(4, 10)),
                    "tags": list(tags),
                }
                for sid, en_name, zh_name, tags in skills
            ],
            "tags": rng.sample(_EXTRA_TAGS, rng.randint(0, 3)),
            "interfaces": [
                {
                    "protocol": proto,
                    "url": f"https://agents.{domain}/{name}/{proto}",
                    "binding": {"mcp": "streamable-http", "a2a": "JSONRPC", "anp": "JSON-LD"}.get(
                        proto, "HTTP+JSON"
                    ),
                }
                for proto, p in _PROTOCOLS
                if rng.random() < p
            ],
            "deployment": {
                "mode": self._pick(rng, _MODES),
                "instances": rng.randint(1, 50),
                "regions": rng.sample(["cn-north", "cn-east", "cn-south", "ap-southeast", "eu-central"], 1),
            },
            "models": [
                {"provider": provider, "name": model, "version": "2026-10"}
                for provider, model in rng.sample(_MODELS, rng.randint(1, 2))
            ],
            "tools": [
                {"name": t, "server": f"@modelcontextprotocol/server-{t}", "version": "1.2.0"}
                for t in rng.sample(_TOOLS, rng.randint(0, 3))
            ],
            "application_domains": sorted({self._pick(rng, _DOMAINS) for _ in range(rng.randint(1, 3))}),
            "data_categories": sorted({self._pick(rng, _DATA) for _ in range(rng.randint(0, 3))}),
            "permissions": rng.sample(["read:tickets", "write:replies", "read:records", "pay:invoices"], 2),
            "autonomy": self._pick(rng, _AUTONOMY),
        }
        if rng.random() < 0.15:
            start = created - timedelta(days=rng.randint(1, 60))
            decl["certifications"] = [
                {
                    "issuer": rng.choice(("CAICT", "CESI", "TÜV SÜD")),
                    "scope": "agent safety and security (智能体安全能力评估)",
                    "valid_from": _z(start),
                    "valid_until": _z(start + timedelta(days=rng.choice((365, 730, 1095)))),
                    "status": "valid" if rng.random() < 0.92 else "suspended",
                }
            ]
        if rng.random() < 0.4:
            decl["documentation_url"] = f"https://docs.{domain}/agents/{name}"
        aliases = []
        if rng.random() < 0.3:
            aliases.append({"scheme": "did", "alias": f"did:web:{domain}:agents:{name}"})
        if rng.random() < 0.1:
            aliases.append({"scheme": "aip", "alias": f"AIP-{self.seed:02d}-{index:010d}"})
        status = self.statuses[bisect.bisect_left(self.status_cum, rng.random() * self.status_cum[-1])]
        moves = []
        at = created
        for action in _PATHS[status][0]:
            at = min(at + timedelta(seconds=rng.randint(600, 15 * 86_400)), self.anchor)
            reason = "抽检发现问题 / spot-check finding" if action in _REASONED else None
            moves.append((action, reason, at))
        return AgentSpec(index, org, name, decl, aliases, created, moves)

    def _display_name(self, rng: random.Random, zh: bool) -> str:
        if zh:
            words = rng.choices(self.zh_words[:120], k=2)
            return "".join(words) + rng.choice(("助手", "智能体", "机器人", "专家", "顾问", "管家"))
        words = rng.choices(self.en_words[:300], k=2)
        suffix = rng.choice(("Assistant", "Agent", "Copilot", "Bot", "Advisor"))
        return " ".join(w.capitalize() for w in words) + " " + suffix

    @staticmethod
    def _pick(rng: random.Random, pairs: tuple[tuple[str, int], ...]) -> str:
        values, cum = _WEIGHTED[id(pairs)]
        return values[bisect.bisect_left(cum, rng.random() * cum[-1])]


def _z(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


# -- building the store -------------------------------------------------------------------------------

ADMIN = Principal(key_id="bench", role=Role.ADMIN)
_SERVICE_LOADED = 100  # the first agents go through RegistryService itself, the rest through the bulk loader
_CHUNK = 5_000  # agents generated and inserted per executemany round
_CHUNKS_PER_TRANSACTION = 10
_VERIFY_SAMPLE = 40


class ManualClock:
    """A clock the loader sets to each agent's own times, so the service writes what the corpus says."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def register_through_service(
    service: RegistryService, clock: ManualClock, spec: AgentSpec, domain: str
) -> None:
    clock.at = spec.created_at
    record = service.register_agent(ADMIN, domain, spec.name, spec.declaration, spec.aliases)
    for action, reason, at in spec.moves:
        clock.at = at
        service.move(ADMIN, record.id, action, reason)


@dataclass
class _Rows:
    agents: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    facets: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def bulk_rows(rows: _Rows, spec: AgentSpec, seq: int, org_id: str, domain: str) -> None:
    """Append the rows ``register_agent`` and ``move`` would write for ``spec``, with the same functions."""
    decl = validate_model(Declaration, spec.declaration)
    aliases = [check_alias(a) for a in spec.aliases]
    body, digest = canonical_body(decl)
    status = AgentStatus.FILED
    updated = spec.created_at
    events = [event_row("file", None, status, ADMIN, reason=None, evidence={}, at=spec.created_at)]
    for action, reason, at in spec.moves:
        act = Action(action)
        target = next_status(status, act, TRANSITIONS[act].by, reason)
        events.append(event_row(act.value, status, target, ADMIN, reason=reason, evidence={}, at=at))
        status, updated = target, at
    rows.agents.append(
        {
            "seq": seq,
            "id": f"urn:agent:{domain}:{spec.name}",
            "org_id": org_id,
            "name": spec.name,
            "status": status.value,
            "created_at": spec.created_at,
            "updated_at": updated,
            "deleted": status in DELETED_STATUSES,
            "hosted": False,
            **head_fields(spec.name, decl, 1, digest, spec.created_at),
        }
    )
    rows.versions.append(
        {
            "agent_seq": seq,
            "version": 1,
            "digest": digest,
            "prev_digest": None,
            "body": body,
            "created_by": ADMIN.actor,
            "created_at": spec.created_at,
        }
    )
    rows.facets.extend({"facet": f, "value": v, "agent_seq": seq} for f, v in sorted(set(facets_of(decl))))
    rows.aliases.extend({"alias": a, "scheme": s, "agent_seq": seq} for a, s in aliases)
    rows.events.extend({"agent_seq": seq, **e} for e in events)


def _insert(conn: Connection, rows: _Rows) -> None:
    for table, values in (
        (agents, rows.agents),
        (agent_versions, rows.versions),
        (agent_facets, rows.facets),
        (agent_aliases, rows.aliases),
        (lifecycle_events, rows.events),
    ):
        if values:
            conn.execute(insert(table), values)


def _sqlite_load_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _load(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=OFF")  # a benchmark store: rebuilt, never recovered
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading
        cursor.close()


def build(url: str, connect_args: dict[str, Any], corpus: Corpus) -> dict[str, Any]:
    """Create, migrate and fill the store; verify a sample against the service. Returns build facts."""
    timer = Timer()
    engine = make_engine(url, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        _sqlite_load_pragmas(engine)
    upgrade(engine)
    clock = ManualClock(corpus.anchor - corpus.span - timedelta(days=2))
    service = RegistryService(RegistryStore(engine), clock)
    org_ids = [service.create_org(ADMIN, org.document()).id for org in corpus.orgs]
    first = min(_SERVICE_LOADED, corpus.n)
    for index in range(first):
        spec = corpus.agent(index)
        register_through_service(service, clock, spec, corpus.orgs[spec.org].domain)
    with engine.connect() as conn:
        seq = int(conn.execute(select(func.max(agents.c.seq))).scalar() or 0)
    progress(f"orgs and {first} agents registered through the service; bulk loading {corpus.n - first}")
    index = first
    while index < corpus.n:
        with engine.begin() as conn:
            for _ in range(_CHUNKS_PER_TRANSACTION):
                rows = _Rows()
                for i in range(index, min(index + _CHUNK, corpus.n)):
                    spec = corpus.agent(i)
                    seq += 1
                    bulk_rows(rows, spec, seq, org_ids[spec.org], corpus.orgs[spec.org].domain)
                _insert(conn, rows)
                index = min(index + _CHUNK, corpus.n)
                if index >= corpus.n:
                    break
        progress(f"{index} agents ({index / timer.seconds:.0f}/s)")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text("SELECT setval(pg_get_serial_sequence('agents', 'seq'), (SELECT max(seq) FROM agents))")
            )
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    load_s = timer.seconds
    verified = verify(service, corpus, first)
    engine.dispose()
    progress(f"built in {load_s:.0f} s; {verified} bulk-loaded agents equal their service-registered twins")
    return {"build_s": round(load_s, 1), "verified": verified, "service_loaded": first}


def _snapshot(service: RegistryService, agent_id: str, org_domain: str) -> dict[str, Any]:
    """Everything the service says about an agent, with the store-specific org id replaced by its domain."""
    record = service.get_agent(ADMIN, agent_id).model_dump(mode="json")
    record["org_id"] = org_domain
    row = service.store.find_agent(agent_id)
    with service.store.reading() as conn:
        facet_rows = conn.execute(
            select(agent_facets.c.facet, agent_facets.c.value)
            .where(agent_facets.c.agent_seq == row["seq"])
            .order_by(agent_facets.c.facet, agent_facets.c.value)
        ).all()
    return {
        "record": record,
        "search_text": row["search_text"],
        "facets": [tuple(f) for f in facet_rows],
        "versions": [v.model_dump(mode="json") for v in service.versions(ADMIN, agent_id)],
        "events": [e.model_dump(mode="json") for e in service.events(ADMIN, agent_id)],
    }


def verify(service: RegistryService, corpus: Corpus, first: int) -> int:
    """Register a sample of bulk-loaded agents again through the service in a scratch store and compare."""
    if corpus.n <= first:
        return 0
    rng = random.Random(corpus.seed + 1)
    sample = sorted({first, corpus.n - 1, *(rng.randrange(first, corpus.n) for _ in range(_VERIFY_SAMPLE))})
    at = corpus.anchor + timedelta(hours=1)
    with tempfile.TemporaryDirectory() as scratch_dir:
        engine = make_engine(f"sqlite:///{Path(scratch_dir) / 'verify.db'}")
        upgrade(engine)
        clock = ManualClock(corpus.anchor - corpus.span - timedelta(days=2))
        scratch = RegistryService(RegistryStore(engine), clock)
        for org in corpus.orgs:
            scratch.create_org(ADMIN, org.document())
        for index in sample:
            spec = corpus.agent(index)
            register_through_service(scratch, clock, spec, corpus.orgs[spec.org].domain)
        main_view = RegistryService(service.store, ManualClock(at))
        scratch_view = RegistryService(scratch.store, ManualClock(at))
        for index in sample:
            spec = corpus.agent(index)
            domain = corpus.orgs[spec.org].domain
            agent_id = f"urn:agent:{domain}:{spec.name}"
            bulk, registered = (
                _snapshot(main_view, agent_id, domain),
                _snapshot(scratch_view, agent_id, domain),
            )
            if bulk != registered:
                diff = {k: (bulk[k], registered[k]) for k in bulk if bulk[k] != registered[k]}
                raise SystemExit(f"bulk-loaded agent {index} differs from the service's: {diff}")
        engine.dispose()
    return len(sample)


# -- the measured workload ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One measured call: a search (``query``) or a read by id or alias (``key``)."""

    kind: str
    principal: Principal | None
    query: SearchQuery | None = None
    key: str | None = None


def _agent_id(corpus: Corpus, index: int) -> str:
    spec = corpus.agent(index)
    return f"urn:agent:{corpus.orgs[spec.org].domain}:{spec.name}"


def workload(corpus: Corpus, per_kind: int, seed: int) -> dict[str, list[Probe]]:
    """The query mix: ``per_kind`` calls of each kind, with words and values drawn from a fixed seed."""
    rng = random.Random(seed)
    rare = corpus.en_words[12_000:]
    common, mid = _EN_COMMON[:12], _EN_COMMON[30:150]
    zh = [w for w in _ZH_COMMON[:60] if len(w) == 2]
    anchor = corpus.anchor

    def search(kind: str, principal: Principal | None = None, **fields: Any) -> Probe:
        return Probe(kind, principal, query=SearchQuery(**fields))

    makers: dict[str, Any] = {
        "rare_word": lambda: search("rare_word", q=rng.choice(rare)),
        "common_word": lambda: search("common_word", q=rng.choice(common)),
        "two_words": lambda: search("two_words", q=f"{rng.choice(mid)} {rng.choice(common)}"),
        "chinese_word": lambda: search("chinese_word", q=rng.choice(zh)),
        "filter_protocol": lambda: search("filter_protocol", filters={"protocol": "mcp"}),
        "filter_domain": lambda: search("filter_domain", filters={"domain": "medical"}),
        "filter_status": lambda: (
            search("filter_status", statuses=frozenset({AgentStatus.SUSPENDED}))
            if rng.random() < 0.5
            else search("filter_status", ADMIN, statuses=frozenset({AgentStatus.UNDER_REVIEW}))
        ),
        "text_and_filter": lambda: search(
            "text_and_filter",
            q=rng.choice([*mid, *zh]),
            filters=rng.choice(({"domain": "finance"}, {"protocol": "a2a"}, {"domain": "medical"})),
        ),
        "certified": lambda: search("certified", certified=True),
        "updated_since": lambda: search(
            "updated_since", updated_since=anchor - timedelta(days=rng.uniform(1, 60))
        ),
        "get_by_id": lambda: Probe("get_by_id", ADMIN, key=_agent_id(corpus, rng.randrange(corpus.n))),
        "get_by_alias": lambda: Probe("get_by_alias", ADMIN, key=_some_alias(corpus, rng)),
    }
    probes = {kind: [make() for _ in range(per_kind)] for kind, make in makers.items()}
    firsts = ("common_word", "chinese_word", "filter_protocol", "filter_domain", "certified", "updated_since")
    probes["next_page"] = [
        Probe("next_page", None, query=makers[rng.choice(firsts)]().query) for _ in range(per_kind)
    ]
    return probes


def _some_alias(corpus: Corpus, rng: random.Random) -> str:
    while True:
        spec = corpus.agent(rng.randrange(corpus.n))
        if spec.aliases:
            return spec.aliases[0]["alias"]


def _second_pages(service: RegistryService, probes: list[Probe]) -> list[Probe]:
    """Turn each first-page query into the query for its next page (first pages are not measured)."""
    out = []
    for probe in probes:
        if probe.query is None:
            continue
        first = service.search(probe.principal, probe.query)
        if first.next_cursor is not None:
            query = SearchQuery(**{**probe.query.__dict__, "cursor": first.next_cursor})
            out.append(Probe(probe.kind, probe.principal, query=query))
    return out


def _call(service: RegistryService, probe: Probe) -> tuple[int, bool]:
    """Run one probe: (items returned, whether a search page came back short with a cursor)."""
    if probe.query is not None:
        result = service.search(probe.principal, probe.query)
        short = result.next_cursor is not None and len(result.items) < probe.query.limit
        return len(result.items), short
    service.get_agent(probe.principal, probe.key or "")
    return 1, False


def measure(
    service: RegistryService, probes: dict[str, list[Probe]], seed: int
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    probes["next_page"] = _second_pages(service, probes["next_page"])
    calls = [p for kind in probes.values() for p in kind]
    random.Random(seed).shuffle(calls)
    for probe in calls[: min(len(calls), 200)]:  # warm the caches the way a running server has them
        _call(service, probe)
    latencies: dict[str, list[float]] = {kind: [] for kind in probes}
    items: dict[str, int] = dict.fromkeys(probes, 0)
    short: dict[str, int] = dict.fromkeys(probes, 0)
    for probe in calls:
        start = time.perf_counter()
        found, was_short = _call(service, probe)
        latencies[probe.kind].append((time.perf_counter() - start) * 1000)
        items[probe.kind] += found
        short[probe.kind] += was_short
    kinds = {
        kind: {
            **summarise_ms(samples),
            "mean_items": round(items[kind] / max(len(samples), 1), 1),
            "short_pages": short[kind],
        }
        for kind, samples in latencies.items()
    }
    return kinds, latencies


def explain(service: RegistryService, probes: dict[str, list[Probe]]) -> None:
    for kind, calls in probes.items():
        query = calls[0].query if calls else None
        if query is None:
            continue
        scoped = SearchQuery(**{**query.__dict__, "public_only": calls[0].principal is None})
        progress(f"plan of {kind} ({query.q or query.filters or ''}):")
        for line in explain_search(service.store, scoped, datetime.now(UTC)):
            progress(f"    {line}")


# -- command line -------------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.registry_search", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, required=True, help="agents in the store")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--url", help=f"PostgreSQL URL (default {_DEFAULT_PG}); a fresh schema is used")
    parser.add_argument("--queries", type=int, default=200, help="measured calls per query kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", type=Path, help="SQLite file to build (default: a temporary file)")
    parser.add_argument(
        "--reuse", action="store_true", help="reuse --db or --schema if it was built with the same n and seed"
    )
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    parser.add_argument(
        "--cold", action="store_true", help="do not read the SQLite file into the page cache first"
    )
    parser.add_argument("--explain", action="store_true", help="print the plan of each query kind to stderr")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--anchor", help=argparse.SUPPRESS)
    parser.add_argument(
        "--schema", help="PostgreSQL schema to build (default: a fresh one, dropped afterwards)"
    )
    return parser.parse_args(argv)


def _connect_args(schema: str | None) -> dict[str, Any]:
    return {"options": f"-csearch_path={schema}"} if schema else {}


def _build_in_child(
    args: argparse.Namespace, url: str, schema: str | None, anchor: datetime
) -> dict[str, Any]:
    """Build in a child process, so that the measured process's peak RSS is that of serving alone."""
    command = [sys.executable, "-m", "bench.registry_search", "--build-only", "--n", str(args.n)]
    command += ["--seed", str(args.seed), "--anchor", anchor.isoformat(), "--url", url]
    if schema:
        command += ["--schema", schema]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    facts: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return facts


def _sqlite_store(
    args: argparse.Namespace, scratch: Path | None, anchor: datetime
) -> tuple[str, dict[str, Any], datetime]:
    path = (args.db or Path(scratch or ".") / "registry.db").resolve()
    url = f"sqlite:///{path}"
    sidecar = path.with_suffix(".bench.json")
    known = json.loads(sidecar.read_text()) if args.reuse and sidecar.exists() and path.exists() else {}
    if known.get("n") == args.n and known.get("seed") == args.seed:
        progress(f"reusing {path}, built for n={args.n}")
        return (
            url,
            {"build_s": None, "verified": None, "reused": True},
            datetime.fromisoformat(known["anchor"]),
        )
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), sidecar):
        stale.unlink(missing_ok=True)
    facts = _build_in_child(args, url, None, anchor)
    sidecar.write_text(json.dumps({"n": args.n, "seed": args.seed, "anchor": anchor.isoformat()}))
    return url, facts, anchor


def _postgres_store(
    args: argparse.Namespace, admin: Engine, url: str, schema: str, anchor: datetime
) -> tuple[dict[str, Any], datetime]:
    """A fresh schema, or with --reuse and --schema the one a previous run kept (its facts in a comment)."""
    with admin.begin() as conn:
        comment = conn.execute(
            text("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = :s"),
            {"s": schema},
        ).scalar()
        known = json.loads(comment) if args.reuse and comment else {}
        if known.get("n") == args.n and known.get("seed") == args.seed:
            progress(f"reusing schema {schema}, built for n={args.n}")
            return {"build_s": None, "verified": None, "reused": True}, datetime.fromisoformat(
                known["anchor"]
            )
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    facts = _build_in_child(args, url, schema, anchor)
    facts_json = json.dumps({"n": args.n, "seed": args.seed, "anchor": anchor.isoformat()})
    with admin.begin() as conn:
        conn.execute(text(f"COMMENT ON SCHEMA \"{schema}\" IS '{facts_json}'"))
    return facts, anchor


def _store_mb(url: str) -> float:
    path = Path(url.removeprefix("sqlite:///"))
    files = (path, Path(f"{path}-wal"))
    return round(sum(f.stat().st_size for f in files if f.exists()) / 2**20, 1)


def _prime(url: str) -> None:
    """Read the store file once, so the page cache holds it as it does for a server that has been up."""
    path = Path(url.removeprefix("sqlite:///"))
    for part in (path, Path(f"{path}-wal")):
        if part.exists():
            with part.open("rb") as f:
                while f.read(1 << 23):
                    pass


def _pooled(latencies: dict[str, list[float]], kinds: list[str], p: float) -> float:
    return round(percentile([x for k in kinds for x in latencies[k]], p), 3)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.build_only:
        corpus = Corpus(args.seed, args.n, datetime.fromisoformat(args.anchor))
        print_result(build(args.url, _connect_args(args.schema), corpus))
        return 0
    anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    scratch = (
        None if args.db or args.backend != "sqlite" else Path(tempfile.mkdtemp(prefix="agentgov-bench-"))
    )
    schema = None
    admin = None
    if args.backend == "sqlite":
        url, facts, anchor = _sqlite_store(args, scratch, anchor)
    else:
        url = args.url or _DEFAULT_PG
        schema = args.schema or f"bench_search_{os.getpid()}"
        admin = make_engine(url)
        facts, anchor = _postgres_store(args, admin, url, schema, anchor)
    try:
        corpus = Corpus(args.seed, args.n, anchor)
        engine = make_engine(url, connect_args=_connect_args(schema))
        service = RegistryService(RegistryStore(engine), SystemClock())
        probes = workload(corpus, args.queries, args.seed)
        if args.backend == "sqlite" and not args.cold:
            _prime(url)
        if args.explain:
            explain(service, probes)
        progress(f"measuring {sum(len(p) for p in probes.values())} calls")
        kinds, latencies = measure(service, probes, args.seed)
        engine.dispose()
        store_mb = _store_mb(url) if args.backend == "sqlite" else None
    finally:
        if admin is not None and not args.keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        if scratch is not None and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    searches = [k for k in kinds if not k.startswith("get_")]
    gets = ["get_by_id", "get_by_alias"]
    print_result(
        {
            "n": args.n,
            "backend": args.backend,
            "search_p50_ms": _pooled(latencies, searches, 50),
            "search_p95_ms": _pooled(latencies, searches, 95),
            "get_p50_ms": _pooled(latencies, gets, 50),
            "get_p95_ms": _pooled(latencies, gets, 95),
            "peak_rss_mb": peak_rss_mb(),
            "peak_rss_of": "this process, which serves every measured call in-process",
            "build_peak_rss_mb": peak_rss_mb(children=True),
            **facts,
            "queries": sum(len(v) for v in latencies.values()),
            "scan_budget": DEFAULT_LIMITS.scan_budget,
            "page_cache": "cold"
            if args.cold or args.backend != "sqlite"
            else "primed (store file read once)",
            "store_mb": store_mb,
            "sqlite_version": sqlite3.sqlite_version if args.backend == "sqlite" else None,
            "kinds": kinds,
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
