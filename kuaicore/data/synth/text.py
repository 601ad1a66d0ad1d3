"""Chinese text for the synthetic caption file: category names, cover texts, captions with #hashtags and
@mentions, topic tags. Pure functions of a NumPy generator; words come from small fixed vocabularies.
"""

from __future__ import annotations

import numpy as np

# First-level category names, index = category id 0..37 (a few are the real ones, e.g. 8 颜值, 27 高新数码).
CATEGORY_NAMES = (
    "美妆",
    "宠物",
    "汽车",
    "运动",
    "游戏",
    "时尚",
    "明星娱乐",
    "音乐",
    "颜值",
    "喜剧",
    "舞蹈",
    "民生资讯",
    "亲子",
    "二次元",
    "军事",
    "读书",
    "旅游",
    "教育",
    "农村",
    "情感",
    "健身",
    "科普",
    "艺术",
    "房产",
    "摄影",
    "手工",
    "美食",
    "高新数码",
    "其他",
    "家居",
    "财经",
    "影视",
    "动漫",
    "体育",
    "生活",
    "职场",
    "文化",
    "公益",
)
SUB_NAMES = (
    "颜值随拍",
    "搞笑互动",
    "主题摄影",
    "营销售卖",
    "娱乐八卦",
    "日常生活",
    "才艺展示",
    "美食教程",
    "街头采访",
    "萌宠日常",
    "景物摄影",
    "女装",
    "饭制",
    "手机测评",
    "广场舞",
    "家常菜",
    "健身教学",
    "亲子互动",
    "农村生活",
    "情感语录",
    "汽车评测",
    "游戏解说",
    "古风",
    "翻唱",
    "民间手艺",
    "建筑",
    "旅行记录",
    "校园",
    "职场技巧",
)
_WORDS = (
    "今天",
    "天气",
    "真好",
    "我们",
    "一起",
    "快乐",
    "生活",
    "美好",
    "加油",
    "喜欢",
    "朋友",
    "家人",
    "晚饭后",
    "运动一下",
    "努力",
    "小财",
    "时光",
    "岁月",
    "温柔",
    "漫无目的",
    "走走",
    "长大",
    "兄弟",
    "姐妹",
    "宝宝",
    "妈妈",
    "爸爸",
    "老师",
    "同学",
    "回家",
    "路上",
    "夏天",
    "夜晚",
    "城市",
    "乡村",
    "大海",
    "风景",
    "记住",
    "名字",
    "故事",
    "最美",
    "开心",
    "难过",
    "心情",
    "幸福",
    "未来",
    "梦想",
    "坚持",
    "青春",
    "回忆",
)
_PUNCT = ("，", "。", "！", "？", "…", " ", "~", ".")
_TOPICS = (
    "搞笑",
    "感谢快手我要上热门",
    "上热门",
    "日常",
    "记录生活",
    "正能量",
    "美食",
    "宠物",
    "旅行",
    "音乐",
    "舞蹈",
    "情感",
    "健身",
    "游戏",
    "汽车",
    "穿搭",
    "美妆",
    "农村",
    "亲子",
    "校园",
    "摄影",
    "手工",
)


def phrase(rng: np.random.Generator, n_words: int) -> str:
    """A few words joined, with Chinese punctuation here and there."""
    out = []
    for _ in range(n_words):
        out.append(_WORDS[rng.integers(len(_WORDS))])
        if rng.random() < 0.25:
            out.append(_PUNCT[rng.integers(len(_PUNCT))])
    return "".join(out)


def topic_tags(rng: np.random.Generator) -> list[str]:
    """0-6 topic tags (0 for ~43% of videos, 5 for ~15%), distinct, as in the real file."""
    n = int(rng.choice(7, p=[0.43, 0.139, 0.108, 0.092, 0.066, 0.153, 0.012]))
    return [str(t) for t in rng.choice(_TOPICS, size=n, replace=False)]


def caption(rng: np.random.Generator, tags: list[str], ascii_comma: bool, bare_cr: bool) -> str:
    """A caption: a phrase, the topic tags as #hashtags, maybe an @mention, an ASCII comma or a bare CR."""
    parts = [phrase(rng, int(rng.integers(2, 12)))]
    parts += [f"#{t}" for t in tags]
    if rng.random() < 0.08:
        parts.append(f"@{phrase(rng, 1)}(O{int(rng.integers(10_000, 99_999_999))})")
    text = " ".join(parts)
    if ascii_comma:
        text = text.replace(" ", ",", 1) if " " in text else text + ",好"
    if bare_cr:
        cut = max(1, len(text) // 2)
        text = text[:cut] + "\r" + text[cut:]
    return text


def cover_text(rng: np.random.Generator) -> str:
    """A short manual cover text."""
    return phrase(rng, int(rng.integers(1, 5)))
