"""Scales, vocabularies and the true parameters of the simulated world."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Sizes of one simulated world.

    `volume` multiplies everything that is driven by the customer base (orders, ad budgets,
    CRM sends, content reach); `bounce` multiplies anonymous one-page traffic on top of it, which
    is how the large scale reaches ~100 events per order instead of ~50.
    """

    name: str
    customers: int
    skus: int
    kocs: int
    suppliers: int
    warehouses: int
    campaigns_per_platform: int
    volume: float
    bounce: float
    events_part_rows: int  # events per gzip part; a day with more is split into parts


SCALES: dict[str, Scale] = {
    "small": Scale("small", 20_000, 150, 30, 10, 3, 4, 1.0, 1.0, 5_000_000),
    "medium": Scale("medium", 400_000, 1_000, 120, 30, 4, 8, 20.0, 20.0, 5_000_000),
    "large": Scale("large", 2_000_000, 5_000, 300, 60, 6, 16, 100.0, 450.0, 1_000_000),
}

BRAND = "lumina"
COMPETITORS = ("aurelia", "verdant", "nuvo")

STORES = ("tmall", "jd", "pinduoduo", "douyin_shop", "wechat_miniprogram", "own_site")
MARKETPLACES = (0, 1, 2, 3)
STORE_PREFIX = ("TM", "JD", "PDD", "DY", "WX", "OS")
STORE_CHANNEL = ("tmall", "jd", "pinduoduo", "douyin", "own_site", "own_site")
ORDER_STATUS = (
    "created",
    "paid",
    "shipped",
    "delivered",
    "cancelled",
    "refunded",
    "partially_refunded",
)

# Owned-touchpoint platforms of the SDK; the first two are where owned-store orders are placed.
PLATFORMS = ("wechat_miniprogram", "h5", "app", "pc_web")
PLATFORM_STORE = (4, 5, 5, 5)
PLATFORM_URL = (
    "pages/",
    "https://m.lumina.cn/",
    "lumina://",
    "https://www.lumina.cn/",
)
DEVICE_OS = ("iOS", "Android", "HarmonyOS", "Windows", "macOS")

EVENT_TYPES = (
    "page_view",
    "product_view",
    "coupon_claim",
    "lead_submit",
    "add_to_cart",
    "checkout",
    "purchase",
    "share",
)
EVENT_PATHS = (
    "index",
    "product",
    "coupon",
    "lead",
    "cart",
    "checkout",
    "order/success",
    "share",
)

CHANNELS = (
    "douyin",
    "xiaohongshu",
    "wechat",
    "baidu",
    "tmall",
    "jd",
    "pinduoduo",
    "own_site",
    "other",
)
TRAFFIC_CLASSES = ("paid", "social", "private", "natural")

# Touch kinds: how a session arrived. (utm_source, utm_medium, channel, traffic_class); the
# table is published in _truth.json so the warehouse's channel-grouping seed can be checked.
TOUCHES: tuple[tuple[str | None, str | None, str, str], ...] = (
    (None, None, "own_site", "natural"),  # 0 direct: not a touch
    ("douyin", "cpc", "douyin", "paid"),  # 1 Qianchuan
    ("xiaohongshu", "cpc", "xiaohongshu", "paid"),  # 2 Juguang
    ("wechat", "cpm", "wechat", "paid"),  # 3 Tencent Ads
    ("douyin", "koc", "douyin", "natural"),  # 4 content: post on douyin
    ("xiaohongshu", "koc", "xiaohongshu", "natural"),  # 5
    ("wechat_channels", "koc", "wechat", "natural"),  # 6
    ("weibo", "koc", "other", "natural"),  # 7
    ("baidu", "organic", "baidu", "natural"),  # 8 organic search
    ("sms", "sms", "own_site", "private"),  # 9 CRM
    ("wecom", "wecom", "wechat", "private"),  # 10
    ("miniprogram", "push", "wechat", "private"),  # 11
    ("app", "push", "own_site", "private"),  # 12
    ("email", "email", "own_site", "private"),  # 13
    ("wechat", "assist", "wechat", "social"),  # 14 social fission: friend_assist
    ("wechat", "group_buy", "wechat", "social"),  # 15 group_buy
    ("wechat", "share", "wechat", "social"),  # 16 share_coupon
    ("zhihu", "referral", "other", "natural"),  # 17 unknown referral source
)
T_DIRECT, T_PAID0, T_CONTENT0, T_SEARCH, T_CRM0, T_SOCIAL0, T_OTHER = 0, 1, 4, 8, 9, 14, 17
CONTENT_PLATFORMS = ("douyin", "xiaohongshu", "wechat_channels", "weibo")
POST_TYPES = ("short_video", "note", "live", "article")
CRM_CHANNELS = ("sms", "wecom", "miniprogram_push", "app_push", "email")
CRM_CONTENT = ("coupon", "new_product", "repurchase_reminder", "member_care", "event_invite")
REFERRAL_ACTIVITIES = ("friend_assist", "group_buy", "share_coupon")
CARRIERS = ("sf", "jd_logistics", "zto", "yto", "ems")
SHIPMENT_STATUS = ("created", "in_transit", "delivered", "exception", "returned")
PO_STATUS = ("open", "partial", "received", "cancelled")
TIERS = ("none", "silver", "gold", "platinum")
TIER_SPEND = (0, 500, 2000, 6000)  # cumulative yuan to reach each tier
REGISTER_CHANNELS = (
    "wechat_miniprogram",
    "own_site",
    "app",
    "tmall",
    "jd",
    "pinduoduo",
    "douyin_shop",
)
LOYALTY_REASONS = ("purchase", "referral", "review", "redeem", "expire")

# (province, city, weight, warehouse region 0=east 1=south 2=north 3=west)
GEO: tuple[tuple[str, str, float, int], ...] = (
    ("上海", "上海", 8.0, 0),
    ("江苏", "南京", 4.0, 0),
    ("江苏", "苏州", 4.0, 0),
    ("浙江", "杭州", 5.0, 0),
    ("浙江", "宁波", 2.0, 0),
    ("安徽", "合肥", 2.0, 0),
    ("山东", "济南", 2.0, 2),
    ("山东", "青岛", 2.0, 2),
    ("北京", "北京", 7.0, 2),
    ("天津", "天津", 2.0, 2),
    ("河北", "石家庄", 1.5, 2),
    ("辽宁", "沈阳", 1.5, 2),
    ("广东", "广州", 6.0, 1),
    ("广东", "深圳", 6.0, 1),
    ("广东", "东莞", 2.0, 1),
    ("福建", "厦门", 2.0, 1),
    ("福建", "福州", 1.5, 1),
    ("广西", "南宁", 1.0, 1),
    ("湖北", "武汉", 3.0, 3),
    ("湖南", "长沙", 2.5, 3),
    ("河南", "郑州", 2.5, 2),
    ("四川", "成都", 4.0, 3),
    ("重庆", "重庆", 3.0, 3),
    ("陕西", "西安", 2.0, 3),
    ("云南", "昆明", 1.0, 3),
    ("江西", "南昌", 1.0, 0),
)

CATEGORIES = ("cleanser", "serum", "cream", "mask", "sunscreen", "gift_set")
CATEGORY_PRICE = (79.0, 259.0, 199.0, 99.0, 129.0, 399.0)
SERIES = ("hydra", "calm", "bright", "repair", "youth")
SERIES_CN = ("水润", "舒缓", "焕亮", "修护", "青春")
CATEGORY_CN = ("洁面", "精华", "面霜", "面膜", "防晒", "礼盒")

KOC_CATEGORIES = ("beauty", "skincare", "lifestyle", "fashion", "mother_baby", "food")
BRAND_KEYWORDS = ("温和", "修护", "成分党", "性价比", "敏感肌", "国货", "高级感", "保湿")
TARGET_KEYWORDS = ("温和", "修护", "敏感肌")

# True behavioural parameters, published in _truth.json.
CONVERSION_BY_TOUCH = {
    "direct": 0.060,
    "paid": 0.022,
    "content": 0.030,
    "search": 0.035,
    "private": 0.075,
    "social": 0.055,
}
KOC_CATEGORY_FIT = {
    "beauty": 1.3,
    "skincare": 1.5,
    "lifestyle": 1.0,
    "fashion": 0.9,
    "mother_baby": 0.8,
    "food": 0.6,
}
REPURCHASE_MEDIAN_DAYS = 38.0
REPURCHASE_SIGMA = 0.45  # lognormal spread of a customer's mean cycle
REPURCHASE_GAMMA_SHAPE = 2.5  # gap around that mean
DROPOUT_AFTER_PURCHASE = 0.12
NPS_PROBS = (0.02, 0.01, 0.01, 0.02, 0.02, 0.05, 0.07, 0.12, 0.20, 0.22, 0.26)
EXPERIMENTS = (
    # id, platform index, share of visitors enrolled, variants, conversion multipliers: the
    # checkout redesign works (+30% conversion); the page layouts make no difference, so a
    # warehouse that finds one is fooled by noise
    ("exp_checkout_v2", 0, 0.8, ("control", "b"), (1.0, 1.30)),
    ("exp_pdp_layout", 1, 0.6, ("control", "b", "c"), (1.0, 1.0, 1.0)),
)
