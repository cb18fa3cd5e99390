"""The demo community's people, boards and phrase banks, and the deterministic plan of its posts.

Nothing here touches the database: :func:`plan_demo` turns a seed and a scale into a list of
:class:`PlannedThread` (titles, Markdown sources, authors as indexes into :data:`MEMBERS`,
timestamps), which :mod:`forum.demo` writes in bulk. The same seed gives the same community.

The community is a running club that also organises group buys. Members from 台北 and 香港
write in Traditional Chinese (converted with OpenCC from the Simplified phrase banks, with
their usernames and local place names protected from conversion).
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import NamedTuple

from forum.markup import quote_source

#: The seed of the demo's random generator: the same seed, the same community.
SEED = 20240917
#: How far back the demo's first post lies.
WINDOW_DAYS = 90


@dataclass(frozen=True)
class DemoMember:
    """One demo member. ``region`` is ``cn``, ``tw`` or ``hk``; ``weight`` how often they post."""

    username: str
    display_name: str
    region: str = "cn"
    bio: str = ""
    role: str = "member"  # member, moderator, admin
    weight: float = 1.0

    @property
    def timezone(self) -> str:
        """The member's IANA timezone, from the region."""
        return {"tw": "Asia/Taipei", "hk": "Asia/Hong_Kong"}.get(self.region, "Asia/Shanghai")

    @property
    def locale(self) -> str:
        """The member's interface language, from the region."""
        return "zh_Hant" if self.region in ("tw", "hk") else "zh_Hans"


# fmt: off
MEMBERS: tuple[DemoMember, ...] = (
    DemoMember("laozhou", "老周", bio="群主。跑了十二年，全马 PB 3:05。有事站内信，别在群里刷屏 :)", role="admin", weight=2.0),
    DemoMember("ayu_pace", "阿鱼", bio="版主 · 周六 LSD 领跑 · 半马 1:29", role="moderator", weight=2.5),
    DemoMember("跑者小林", "小林", bio="程序员，靠跑步治颈椎。", weight=2.0),
    DemoMember("kiki_run", "Kiki", bio="只要不下雨就在奥森。", weight=2.2),
    DemoMember("dawei88", "大伟", weight=1.2),
    DemoMember("陈半马", "陈半马", bio="只跑半马，全马是不可能全马的。", weight=1.5),
    DemoMember("lemon_tea", "柠檬茶", weight=1.0),
    DemoMember("老猫不跑", "老猫", bio="嘴上说不跑，身体很诚实。", weight=1.3),
    DemoMember("sunny_zhang", "张晴", weight=1.1),
    DemoMember("铁腿阿强", "阿强", bio="越野爱好者，崇礼 168 完赛。", weight=1.6),
    DemoMember("momo_7", "默默", weight=0.8),
    DemoMember("zhouyi", "周一", weight=0.7),
    DemoMember("风里的兔子", "兔子", bio="配速 6 分的快乐跑者。", weight=1.4),
    DemoMember("jason_w", "Jason", weight=0.9),
    DemoMember("慢跑的熊", "熊熊", bio="体重 90 公斤的跑者，减肥进行中。", weight=1.2),
    DemoMember("li_na_runs", "李娜", weight=1.0),
    DemoMember("haoge", "浩哥", weight=0.9),
    DemoMember("晨跑打卡君", "打卡君", bio="连续打卡 400 天。", weight=2.4),
    DemoMember("xiaoqi", "小七", weight=0.8),
    DemoMember("川西跑山", "老王", bio="成都，周末跑山。", weight=1.1),
    DemoMember("amy_taipei", "Amy", region="tw", bio="台北上班族，下班去河滨跑步。", weight=1.3),
    DemoMember("阿凱跑步", "阿凱", region="tw", bio="新竹工程师，目标台北马破 330。", weight=1.1),
    DemoMember("yuting", "宥婷", region="tw", weight=0.9),
    DemoMember("小胖在台中", "小胖", region="tw", bio="从 98 公斤跑到 76 公斤。", weight=0.8),
    DemoMember("kenny_hk", "Kenny", region="hk", bio="香港，周末行山跑。", weight=1.2),
    DemoMember("asze_hk", "阿詩", region="hk", bio="香港人，周末在大潭水塘跑步。", weight=0.9),
    DemoMember("wing_hk", "Wing", region="hk", weight=0.7),
    DemoMember("mandy_lu", "陆曼", weight=0.8),
    DemoMember("一公里先生", "一公里", bio="每天至少一公里。", weight=1.0),
    DemoMember("pacer_liu", "刘配速", bio="城市马拉松官方兔子，4 小时组。", weight=1.3),
    DemoMember("rain_runner", "雨天", weight=0.7),
    DemoMember("北漂跑者", "北漂", weight=0.9),
    DemoMember("gaoyuan", "高原", weight=0.6),
    DemoMember("tiantian", "甜甜", weight=0.8),
    DemoMember("ironman_he", "何铁人", bio="铁三爱好者，游泳是短板。", weight=1.0),
    DemoMember("小鹿乱跑", "小鹿", weight=1.1),
    DemoMember("qingfeng", "清风", weight=0.6),
    DemoMember("mara_song", "宋马拉", weight=0.9),
    DemoMember("夜跑团长", "团长", bio="拼团负责人。团购有问题找我。", weight=1.8),
    DemoMember("coffee_run", "咖啡", weight=0.7),
    DemoMember("duoduo", "多多", weight=0.6),
    DemoMember("西湖边跑步", "西湖", bio="杭州，西湖一圈 10 公里。", weight=0.9),
    DemoMember("yanzi", "燕子", weight=0.6),
    DemoMember("bigfoot_42", "大脚", bio="46 码的脚，买鞋好难。", weight=0.7),
    DemoMember("老李膝盖疼", "老李", weight=0.8),
    DemoMember("joy_chen", "Joy", weight=0.7),
    DemoMember("阿杰", "阿杰", weight=0.6),
    DemoMember("shanshan", "珊珊", weight=0.7),
    DemoMember("trail_ma", "马越野", bio="越野跑，爬升才是快乐。", weight=0.8),
    DemoMember("新手小白", "小白", bio="刚开始跑步，多多指教！", weight=1.0),
)
# fmt: on

ADMIN_INDEX = 0
MODERATOR_INDEX = 1
ORGANISER_INDEX = next(i for i, m in enumerate(MEMBERS) if m.username == "夜跑团长")
CHECKIN_INDEX = next(i for i, m in enumerate(MEMBERS) if m.username == "晨跑打卡君")


@dataclass(frozen=True)
class DemoBoard:
    """A demo board. ``members_only`` boards are hidden from guests."""

    slug: str
    name: str
    description: str
    weight: float
    members_only: bool = False


#: Categories in order, each with its boards in order.
CATEGORIES: tuple[tuple[str, tuple[DemoBoard, ...]], ...] = (
    (
        "跑步",
        (
            DemoBoard(
                "yuepao",
                "约跑 · 训练",
                "找人一起跑、训练计划、跑步技术。约跑请写清时间、地点、配速。",
                30,
            ),
            DemoBoard("races", "赛事报名", "赛事资讯、抽签报名、组队拼房、赛记。", 15),
        ),
    ),
    (
        "装备与生活",
        (
            DemoBoard(
                "gear", "装备交流 · 团购", "跑鞋、手表、补给品的使用心得；跑团拼团在这里发起。", 20
            ),
            DemoBoard("food", "饮食与恢复", "跑者的饮食、补给、拉伸放松与伤病恢复。", 14),
        ),
    ),
    (
        "社区",
        (
            DemoBoard("chat", "闲聊灌水", "跑步以外的一切，随便聊。", 16),
            DemoBoard(
                "core",
                "核心会员区",
                "核心会员的内部讨论：活动预算、团购对接。游客不可见。",
                5,
                members_only=True,
            ),
        ),
    ),
)
BOARDS: tuple[DemoBoard, ...] = tuple(b for _, boards in CATEGORIES for b in boards)

# --------------------------------------------------------------------------- vocabulary

# fmt: off
PLACES = {
    "cn": ["奥森", "朝阳公园", "世纪公园", "滨江大道", "深圳湾公园", "西湖", "东湖绿道", "玄武湖",
           "天府绿道", "海心沙", "大沙河", "植物园", "体育中心田径场", "滨河路", "森林公园"],
    "tw": ["大佳河滨公园", "大安森林公园", "美堤河滨", "中正纪念堂", "象山步道", "爱河"],
    "hk": ["维港海滨", "大潭水塘", "将军澳海滨", "九龙公园", "麦理浩径", "城门河"],
}
CITIES = {
    "cn": ["北京", "上海", "深圳", "杭州", "广州", "成都", "武汉", "南京", "苏州", "厦门", "西安", "长沙"],
    "tw": ["台北", "台中", "高雄", "新竹"],
    "hk": ["香港"],
}
VOCAB: dict[str, list[str]] = {
    "race": ["北京马拉松", "上海马拉松", "厦门马拉松", "无锡马拉松", "广州马拉松", "杭州马拉松",
             "成都马拉松", "兰州马拉松", "武汉马拉松", "重庆马拉松", "苏州金鸡湖半马", "扬州鉴真半马",
             "台北马拉松", "渣打香港马拉松"],
    "trail": ["崇礼 168 的 30 公里组", "四姑娘山越野赛", "大别山 100", "香港毅行者", "莫干山越野赛"],
    "shoe": ["亚瑟士 Kayano 30", "Nike Pegasus 41", "索康尼 啡鹏 4", "李宁 飞电 4C", "特步 160X 6.0",
             "安踏 C202 5代", "HOKA Clifton 9", "亚瑟士 Novablast 4", "必迈 远征者 4.0", "361° 飞燃 3",
             "New Balance 1080v13", "Adidas Boston 12"],
    "watch": ["佳明 265", "佳明 965", "高驰 Pace 3", "华为 GT 4", "颂拓 Race S", "Apple Watch Ultra"],
    "gear": ["跑步腰包", "水壶背心", "压缩腿套", "头灯", "跑步袜", "遮阳帽", "运动耳机", "冰袖"],
    "gel": ["能量胶", "盐丸", "电解质泡腾片", "能量棒"],
    "food": ["燕麦加香蕉", "全麦面包夹煎蛋", "一碗牛肉面", "红薯配酸奶", "鸡胸肉沙拉",
             "小米粥配包子", "豆浆油条（罪过）", "蛋白粉冲牛奶"],
    "brand": ["李宁", "特步", "亚瑟士", "安踏", "Nike", "索康尼", "HOKA"],
    "clock": ["早上 6 点", "早上 6 点半", "早上 7 点", "晚上 7 点半", "晚上 8 点"],
    "weekday": ["二", "三", "四", "六", "日"],
    "gate": ["南门", "北门", "东门", "2 号门", "停车场"],
    "dist": ["5 公里", "10 公里", "半马", "全马", "15 公里", "30 公里"],
    "goal": ["破 4", "破 330", "安全完赛", "全程不走", "PB 五分钟"],
    "reps": ["8 × 400 米", "5 × 1000 米", "12 × 200 米", "4 × 1600 米", "6 × 800 米"],
    "luck": ["中了！第一次中签好激动", "又没中，连续第三年陪跑", "没中，在看有没有公益名额",
             "中了，但是全马，有点慌"],
    "result": ["PB 了 6 分钟", "没破 PB 但是很开心", "全程没走，满足", "比上次快了一刻钟"],
    "gender": ["男", "女"],
    "fit": ["日常慢跑和 LSD", "大体重跑者", "想要一双鞋跑所有课表的人"],
    "budget": ["500 元", "800 元", "1500 元", "2000 元", "3000 元"],
    "size": ["37", "38", "39", "40", "41", "42", "42.5", "43", "44"],
    "pacer": ["4 小时", "3 小时 45 分", "4 小时 15 分", "3 小时 30 分"],
    "tip": ["热身别省，慢跑 2 公里再加几组加速跑", "循序渐进，每周跑量增加别超过 10%",
            "睡眠比什么补剂都管用", "鞋子跑到 800 公里左右就该换了", "跑前两小时吃点碳水",
            "每周至少留一天完全休息", "跑完马上拉伸，别坐下就不动了", "力量训练一周至少两次",
            "长距离一定要带补给，别等饿了再吃", "心率比配速更诚实"],
    "note": ["今天风好大，逆风那段想哭", "5 点半出门，天还没亮，路灯下跑很有感觉", "腿有点沉，轻松跑",
             "下雨改跑步机，无聊死了", "带娃跑了 3 公里也算", "间歇日，跑完想吐",
             "LSD 日，最后两公里差点放弃", "新鞋第一跑，脚感不错", "加班到十点，还是出来跑了",
             "遇到一只猫跟着我跑了半圈", "配速比上周快了 10 秒，开心", "跑完吃了两个包子",
             "膝盖有点不舒服，早点收了", "和老婆一起跑的，她比我快", "今天状态爆棚",
             "雾霾天，改成室内力量训练", "出差在外，酒店跑步机打卡", "天太热了，跑完像洗了个澡",
             "第一次不看表跑，纯凭感觉", "和 Kiki 她们一起跑的，聊着天就跑完了",
             "恢复跑，心率控制得不错", "跑到一半鞋带松了三次", "今天偷懒只跑了一半",
             "早起的鸟儿有虫吃，早起的跑者有日出看"],
    "resolution": ["学到了", "明白了，我调整一下", "我先试试，回来反馈", "收获很大", "心里有数了",
                   "回头总结一下发上来"],
}
# fmt: on

NUMBERS: dict[str, Callable[[random.Random], str]] = {
    "km": lambda r: str(r.choice([5, 6, 8, 10, 10, 12, 15])),
    "lsdkm": lambda r: str(r.choice([18, 21, 25, 28, 30, 32])),
    "tempokm": lambda r: str(r.choice([6, 8, 10])),
    "monthkm": lambda r: str(r.choice([120, 150, 180, 200, 250])),
    "shoekm": lambda r: str(r.randrange(150, 900, 10)),
    "pace": lambda r: f"{r.randint(4, 6)}'{r.randrange(0, 60, 5):02d}\"",
    "slowpace": lambda r: f"{r.randint(6, 7)}'{r.randrange(0, 60, 5):02d}\"",
    "pbten": lambda r: f"{r.randint(42, 62)}'{r.randint(0, 59):02d}\"",
    "pbhalf": lambda r: f"1:{r.randint(35, 59)}:{r.randint(0, 59):02d}",
    "finish": lambda r: f"{r.randint(3, 4)}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
    "hr": lambda r: str(r.randint(138, 152)),
    "cadence": lambda r: str(r.randint(150, 172)),
    "months": lambda r: str(r.randint(2, 18)),
    "weeks": lambda r: str(r.choice([8, 10, 12, 16])),
    "years": lambda r: str(r.randint(2, 9)),
    "n": lambda r: str(r.randint(3, 15)),
    "moq": lambda r: str(r.choice([10, 15, 20, 30])),
    "price": lambda r: str(r.randrange(199, 899, 10)),
    "list_price": lambda r: str(r.randrange(899, 1599, 100)),
    "fee": lambda r: str(r.choice([200, 260, 300])),
    "slots": lambda r: str(r.randint(10, 40)),
    "date": lambda r: f"{r.randint(1, 12)} 月 {r.randint(1, 28)} 日",
    "month": lambda r: str(r.randint(1, 12)),
    "days": lambda r: str(r.choice([3, 5, 7])),
    "climb": lambda r: str(r.randrange(1200, 4000, 100)),
    "minutes": lambda r: str(r.randint(15, 80)),
    "score": lambda r: str(r.randint(6, 9)),
    "weight": lambda r: str(r.randint(55, 95)),
    "jin": lambda r: str(r.randint(8, 40)),
    "grams": lambda r: str(r.randint(210, 290)),
    "kcal": lambda r: str(r.randrange(1200, 1900, 100)),
    "discount": lambda r: str(r.choice([7, 7.5, 8, 8.5])),
    "diff": lambda r: str(r.randint(5, 30)),
    "amount": lambda r: str(r.randrange(300, 1500, 100)),
}

# --------------------------------------------------------------------------- thread templates

# Each board: (title, body). Placeholders name VOCAB or NUMBERS entries (a trailing digit asks
# for a second, different value: {shoe2}), or {place}, {city}, {member}, {mod}.
# fmt: off
# Each board: topics of (title, body, replies that fit the topic). Placeholders name VOCAB or
# NUMBERS entries (a trailing digit asks for another, different value: {shoe2}), or {place},
# {city}, and the @-mentionable {member}, {mod}, {admin}, {organiser}.
THREADS: dict[str, list[tuple[str | tuple[str, ...], str, tuple[str, ...]]]] = {
    "yuepao": [
        ("周{weekday}{clock}{place}约跑，{km} 公里左右",
         "老规矩，周{weekday}{clock}在{place}{gate}集合。\n\n- 距离：{km} 公里左右\n- 配速：{pace} 上下，跟不上的可以跑后半程\n- 结束后一起吃个早饭\n\n想来的楼下报名，人多的话分两组。",
         ("算我一个！{clock}准时到。", "配速 {pace} 有点快，我跑前半程可以吗？", "这周有事去不了，下周一定！",
          "{gate}那边好停车吗？", "带上我，第一次参加，会不会拖后腿？", "报名 +1，早饭我请 😂",
          "今天跟着跑了，{km} 公里，配速 {pace}，舒服！", "下雨还跑吗？")),
        ("{race}备赛，{weeks} 周计划求大佬们看看",
         "报了{race}，目标{goal}。目前情况：\n\n- 月跑量 {monthkm} 公里左右\n- 10 公里 PB {pbten}\n- 半马 PB {pbhalf}\n\n计划这样排：\n\n1. 周二 间歇 {reps}\n2. 周四 节奏跑 {tempokm} 公里\n3. 周六 LSD {lsdkm} 公里\n4. 其他时间轻松跑或者休息\n\n强度会不会太大？工作日只有晚上有时间。",
         ("计划整体可以，但是 LSD 和间歇之间最好隔一天。", "月跑量 {monthkm} 想{goal}有点紧，先把跑量加上去。",
          "间歇配速别太狠，按 5 公里比赛配速就行。", "工作日晚上跑也可以，注意睡眠。",
          "我去年也是差不多的计划，最后{result}。", "LSD 别跑快，能说完整句子的配速才对。")),
        ("间歇跑到底怎么练？{reps} 跑完腿废了",
         "昨晚在{place}跑了 {reps}，组间慢跑 200 米，最后两组基本是拖着跑完的。\n\n问题：\n\n1. 间歇配速应该按什么定？我是按 5 公里比赛配速\n2. 一周练一次够不够？\n3. 跑完第二天腿很沉，正常吗\n\n求有经验的跑友指点。",
         ("间歇前热身一定要充分，慢跑 2 公里再加几组加速跑。", "一周一次足够了，别贪多。",
          "第二天腿沉正常，安排轻松跑就好。", "组间可以改成 400 米慢跑，先保证每组的质量。",
          "按 5 公里配速是对的，跑完最后一组感觉还能再跑一组最好。")),
        ("跑了{months}个月，膝盖外侧开始疼",
         "最近月跑量从 100 加到了 {monthkm}，这周开始跑到 6 公里左右膝盖外侧就刺痛，停下来走一走又好了。\n\n查了一下说可能是髂胫束综合征？有没有同样经历的，休息多久能好？",
         ("膝盖外侧疼多半是髂胫束，泡沫轴滚大腿外侧，加强臀中肌，别硬跑。", "先停一周，不疼了再从小跑量恢复。",
          "我去年也是，去运动医学科看了，做了两个月康复。", "跑量加得太快了，一般建议每周不超过 10%。",
          "检查一下鞋子是不是磨偏了。")),
        ("新人报到，{city}的，求带",
         "大家好，{city}人，跑步{months}个月，最长跑过 {km} 公里，配速 {pace} 左右。\n\n想找人一起跑，一个人实在坚持不下去 😂 平时{clock}有空，{place}附近。",
         ("欢迎！{place}每周六都有人跑，直接来就行。", "同{city}的，站内信你了。",
          "新人先别追配速，慢慢跑，能坚持下来最重要。", "欢迎欢迎，周末 LSD 一起！",
          "一个人确实难坚持，找到组织就好了 😄")),
        ("MAF 心率训练坚持了{weeks}周，说说感受",
         "180 减年龄，我算下来心率要控制在 {hr} 以内。\n\n**刚开始**：配速掉到 {slowpace}，跑两步就要走，特别憋屈。\n**第 {weeks} 周**：同样心率配速能到 {pace} 了。\n\n> 慢就是快\n\n这句话现在信了。有一起练的吗？",
         ("坚持下来就是胜利，我练了三个月放弃了……", "心率带比手腕准，建议买一个。",
          "MAF 前期真的憋屈，但后面有氧能力上来是真的。", "我也在练，现在 {hr} 的心率能跑 {slowpace}。")),
        (("第一次跑完半马，激动！", "半马首秀完成"),
         "今天在{place}自己跑了一个半马，{pbhalf}！一年前我连 3 公里都跑不下来。\n\n感谢跑团的大家，尤其是 @{member} 一直带我跑 LSD。",
         ("恭喜恭喜！下一步全马！", "太棒了，一年进步这么大。", "记得好好休息两天。", "半马俱乐部欢迎你 🎉")),
        ("今天{place}的日出太美了",
         "{clock}出门，跑到一半太阳出来了，整个{place}都是金色的。{km} 公里跑得特别舒服，配速 {pace}。\n\n早起的跑友们，明天见！",
         ("太美了！明天我也早起。", "我也在{place}，是不是戴白帽子那位？", "羡慕，我这里天天雾霾。",
          "早起跑步的都是狠人。")),
        ("夜跑注意安全！今晚{place}差点被电动车撞",
         "{clock}在{place}跑，拐弯的时候一辆电动车没开灯冲过来，擦着胳膊过去的。\n\n提醒大家夜跑：\n\n- 穿亮色衣服或者戴反光条\n- 别戴降噪耳机\n- 尽量结伴\n\n@{member} 你们夜跑的也注意一下。",
         ("太危险了！人没事就好。", "反光背心真的有必要，几十块钱。", "我们夜跑都是三五个人一起，安全很多。",
          "{place}那段路灯太暗了，早该修了。", "头灯也推荐一个，照路又显眼。")),
        (("跑步姿势求纠正，前脚掌还是后跟着地？", "后跟着地要不要改？", "跑姿问题请教：着地方式和步频", "前掌跑法适合新手吗？"),
         "看了好多视频，有的说前脚掌，有的说中足，有的说怎么舒服怎么来。我现在是后跟着地，步频 {cadence} 左右。\n\n要不要改？改的话从哪里开始练？",
         ("我也是从后跟着地改过来的，先把步频提到 170 以上，着地自然就变了。", "不建议硬改前掌，小腿会很痛。",
          "怎么舒服怎么来，没受伤就没问题。", "拍个视频，让懂的人帮你看比较准。")),
        ("周末 LSD：{place} {lsdkm} 公里，慢配速，欢迎新人",
         "本周六{clock}，{place}出发，跑 {lsdkm} 公里。配速 {slowpace} 左右，纯有氧，能聊天的速度。\n\n沿途有两个补给点（便利店），自己带点水。\n\n已报名：\n\n1. @{member}\n2. @{member2}\n\n继续接龙 👇",
         ("接龙 +1，我跑半程。", "这个配速正合适，报名！", "有没有存包的地方？", "下雨照常吗？",
          "报名，我带两瓶水。")),
    ],
    "races": [
        ("{race}中签了吗？来报个到",
         "今天出抽签结果了！我{luck}。\n\n跑团里中签的楼下报个名，到时候一起订酒店、一起去领物。",
         ("中了中了！第一次中签！", "又是陪跑的一年……", "中了半马，全马没中。", "没中 +1，等明年了。",
          "中签的一起订酒店啊，早订便宜。")),
        ("【组队】{race} 跑团统一报名，{date}截止",
         "跑团今年继续组织{race}团报：\n\n| 项目 | 名额 | 报名费 |\n|---|---|---|\n| 全程马拉松 | {slots} | {fee} 元 |\n| 半程马拉松 | {slots2} | {fee2} 元 |\n\n- 截止：{date}\n- 团报包含：统一队服、赛前聚餐、终点补给\n- 住宿另算，需要拼房的楼下说\n\n有问题 @{mod} 或者私信我。",
         ("报名了，{date}前把钱转给团长。", "团报的队服什么时候发？", "半马还有名额吗？",
          "拼房算我一个，{gender}，站内信你了。", "去年团报体验很好，今年继续！")),
        ("{race} 赛记：{result}",
         "终于跑完了{race}！\n\n前半程跟着 {pacer}的兔子很稳，30 公里之后开始抽筋，后面基本是咬牙坚持。最终成绩 {finish}，{result}。\n\n几点体会：\n\n1. 补给一定要按计划来，我前面漏了一个能量胶\n2. 起跑别冲，人多的时候跟着人流走\n3. 最后 5 公里真的是意志力\n\n感谢沿途加油的跑友，@{member} 给的盐丸救命了！",
         ("恭喜！后程还能顶住太厉害了。", "赛记写得太好了，看得我也想报{race}了。", "抽筋太难受了，赛前多练力量。",
          "我跟 {pacer}的兔子跑过，非常稳。", "恭喜恭喜，下一场冲击 PB！")),
        ("{race}的补给站水太少了",
         "后半程好几个补给站只剩空杯子，天又热，30 公里附近很多人在走。\n\n有没有一起去组委会反馈的？以后跑{race}建议自己带水。",
         ("我也在那个补给站，确实只剩空杯子了。", "后面全靠路边阿姨给的水。", "建议带个软水壶，不占地方。",
          "已经在官方微博留言了。")),
        ("求{race}住宿拼房，{date}前后两晚",
         "{race}中签了，想找人拼房，离起点近一点的酒店。我{gender}，不打呼噜（自认为）。有意向的站内信或者楼下回复。",
         ("拼房算我一个，{gender}，站内信你了。", "我已经订了，起点走路 10 分钟，还可以加一个人。",
          "去年那附近酒店涨价涨得离谱，早点订。")),
        ("越野新手想报{trail}，需要准备什么？",
         "路跑跑了两年，全马 {finish}，今年想试试越野，看中了{trail}。\n\n需要准备的装备：\n\n- 越野跑鞋\n- 水袋背包\n- 头灯？\n- 登山杖要不要？\n\n爬升 {climb} 米对新手会不会太狠了？",
         ("越野第一场建议选 30 公里以内的，爬升别超过 1500。", "登山杖强烈建议带，下坡救膝盖。",
          "头灯必须的，有夜间赛段。", "爬升 {climb} 对新手有点狠，先去爬几次山练练。",
          "越野鞋抓地力最重要，路跑鞋别上山。")),
        ("{race}领物攻略（实测）",
         "昨天去领物了，总结一下：\n\n1. 带身份证原件和报名确认短信\n2. 周六下午人最多，排了 {minutes} 分钟\n3. 现场有{brand}的展位，能试鞋\n\n> 号码布背面记得写紧急联系人\n\n祝大家都跑出好成绩！",
         ("领物那天人超多，建议周五去。", "感谢攻略！", "能代领吗？我那天到不了。", "展位上的鞋有折扣吗？")),
        ("{race}关门时间多少？担心跑不完",
         "第一次全马，报了{race}，关门时间好像是 6 小时。我长距离最多跑过 {lsdkm} 公里，配速 {slowpace}，能完赛吗？",
         ("关门时间 6 小时，按你的配速完赛没问题，前半程别冲。", "跑走结合也能完赛，别有压力。",
          "第一次全马最重要的是享受，别看时间。", "记得补给，每 5 公里喝点水。")),
    ],
    "gear": [
        ("【团购】{shoe} 第 {n} 期拼团，满 {moq} 双成团",
         "跑团第 {n} 期跑鞋拼团来了：\n\n| 型号 | 团购价 | 官方价 |\n|---|---|---|\n| {shoe} | {price} 元 | {list_price} 元 |\n\n- 截止：{date}\n- 发货：成团后 7 天内统一发货\n- 尺码：楼下接龙，格式「尺码 × 数量」\n\n不确定尺码的先去店里试穿，团购不支持无理由退换。",
         ("+1，{size} 码一双", "接龙：{size} 码 × 1", "这个价格比旗舰店便宜不少，冲了。", "团长辛苦！",
          "{size} 码偏大还是偏小？我平时穿 {size2}。", "还能加一双吗？", "上一期的还没到吧？")),
        ("{shoe} 跑了 {shoekm} 公里，说说感受",
         "入手{shoe}{months}个月，累计跑了 {shoekm} 公里，聊聊真实感受：\n\n**优点**\n\n- 缓震足，LSD 跑 {lsdkm} 公里脚不累\n- 鞋面透气，夏天不闷\n\n**缺点**\n\n- 前掌有点硬，前 50 公里是磨合期\n- 外底耐磨一般，后跟已经磨平一块\n\n总体 {score}/10，适合{fit}。",
         ("{shoekm} 公里了还能穿，耐磨还行。", "前掌硬 +1，磨合后好很多。", "我脚宽，穿这双有点挤。",
          "同款，LSD 专用鞋。", "打 {score} 分挺中肯。")),
        ("{watch} 和 {watch2} 怎么选？",
         "预算 {budget}左右，主要需求：\n\n1. GPS 准\n2. 续航长，跑全马不掉电\n3. 能看心率和训练负荷\n\n在{watch}和{watch2}之间纠结，用过的跑友说说？",
         ("我用{watch}，GPS 挺准，续航一周没问题。", "看需求，只跑路跑的话都够用。",
          "手腕心率都不太准，想要准就配心率带。", "{watch}用了一年，表带换过一次，其他没毛病。",
          "有地图功能的越野很实用，路跑用不上。")),
        ("求推荐第一双跑鞋，预算 {budget}",
         "刚开始跑步，体重 {weight} 公斤，跑 5 公里左右，一周三次。店员推荐了{shoe}，但有点贵，有没有性价比高一点的？",
         ("新手第一双别追碳板，买双缓震好的就行。", "建议去实体店试穿，每个人脚型不一样。",
          "国产的李宁、特步、安踏性价比都挺高。", "体重大一点的选缓震好的，保护膝盖。", "等跑团团购呀，便宜不少。")),
        ("【团购】{gel}整箱拼，{price} 元一箱",
         "比赛季快到了，团一波{gel}：\n\n- 单价：{price} 元/箱（官方 {list_price}）\n- 口味：原味、柠檬、可乐\n- 截止：{date}\n\n需要的楼下回复「口味 × 数量」。@{mod} 帮忙统计一下。",
         ("柠檬 × 2", "原味 × 1，可乐 × 1", "去年团的还没吃完 😂", "能不能加个口味？", "团长辛苦！")),
        (("跑鞋多久换一双？", "怎么判断跑鞋该换了"),
         "我这双{shoe}跑了 {shoekm} 公里，鞋底还没磨平，但是感觉没以前弹了。跑鞋一般多少公里换？",
         ("一般 600 到 800 公里，看中底状态。", "膝盖开始不舒服就该换了。", "我习惯两双轮换，寿命长一点。",
          "{shoekm} 公里还行，再跑跑。")),
        ("{gear}买哪种好？",
         "最近跑量上来了，想买个{gear}。网上看了一圈眼花缭乱，大家在用哪款？最好是跑起来不晃的。",
         ("推荐{brand}的，跑起来不晃。", "夏天的话水壶背心很实用。", "我用了好几个，最后还是觉得简单的最好。",
          "便宜的就行，别花冤枉钱。")),
        ("团购的{shoe}到了，开箱",
         "上期团的{shoe}今天到了！尺码正合适，鞋盒有点压坏，鞋没事。\n\n- 重量：实测 {grams} 克（{size} 码）\n- 做工：没有开胶和线头\n\n周末去{place}试跑一下再来反馈。团长辛苦了！",
         ("我的也到了，尺码正好！", "团长靠谱！", "跑完记得回来反馈。", "我的鞋盒也压坏了，哈哈。")),
        ("闲置出：{shoe}，{size} 码，跑了 {shoekm} 公里",
         "买大了半码，出给需要的跑友。\n\n- 价格：{price} 元，包邮\n- 成色：九成新\n- 可以先看实物，{place}附近面交\n\n有意站内信。",
         ("{size} 码的话我可以，站内信了。", "价格很良心。", "还在吗？", "已经出了吗？")),
    ],
    "food": [
        ("赛前{days}天怎么补碳？",
         "下周跑{race}，第一次全马，看到说赛前要补碳。具体怎么吃？每天吃多少米饭面条？会不会吃胖了跑不动 😂",
         ("赛前三天开始多吃碳水就行，米饭面条馒头，别吃太油的。", "别吃没吃过的东西，赛前吃坏肚子就亏了。",
          "补碳不会胖的，主要是储备糖原。", "比赛早上吃个面包和香蕉，提前 2 小时。")),
        ("跑完 {lsdkm} 公里腿酸到下不了楼梯，怎么恢复快？",
         "周末第一次跑了 {lsdkm} 公里，今天下楼梯都要扶着扶手。\n\n目前做了：\n\n- 泡脚\n- 泡沫轴滚了十分钟（疼哭）\n\n还能做点什么？明天还要不要跑？",
         ("下楼梯疼说明肌肉还在恢复，明天可以慢跑 3 公里促进血液循环。", "多喝水多睡觉，过两天就好了。",
          "倒着下楼梯会好一点 😂", "跑完马上拉伸很重要。")),
        (("跑步要不要吃早饭？空腹跑可以吗", "空腹晨跑到底好不好"),
         "我习惯起床直接出门跑 {km} 公里，回来再吃早饭。有人说空腹跑伤身体，有人说燃脂效果好，到底怎么样？",
         ("轻松跑 10 公里以内空腹没问题，长距离一定要吃。", "我空腹跑过一次低血糖，现在出门前吃半根香蕉。",
          "看个人，胃不舒服就吃点。", "空腹跑强度别太大。")),
        (("喝咖啡对跑步有帮助吗？", "赛前喝咖啡到底有没有用"),
         "听说赛前一小时喝咖啡能提升表现，但我喝了容易想上厕所 😂 大家比赛前喝吗？",
         ("我每场比赛都喝，确实精神一点。", "平时训练先试试，别比赛当天第一次喝。", "咖啡因胶也可以，不用跑厕所。")),
        ("分享我的跑后早餐：{food}",
         "跑完 {km} 公里回家，{food}，再来一杯黑咖啡。简单、顶饱、不贵。\n\n你们跑完都吃什么？求推荐点新花样。",
         ("我跑完就是一碗牛肉面，加个蛋，完美。", "{food}也不错，试过。",
          "跑完喝一杯巧克力牛奶，据说恢复效果不错。", "早上跑完只想喝粥。")),
        (("减脂期能跑长距离吗？", "控制饮食的时候 LSD 跑不动怎么办", "减脂和跑量怎么平衡？", "节食期间跑长距离头晕正常吗"),
         "最近在控制饮食，每天 {kcal} 大卡左右。周末的 LSD {lsdkm} 公里跑到后面头晕眼花，是不是热量不够？减脂和跑量怎么平衡？",
         ("减脂期 LSD 前一定要吃点东西，香蕉或者面包都行。", "热量缺口别太大，否则跑不动还掉肌肉。",
          "长距离的时候带个能量胶。", "慢慢减，每周一斤就好。")),
        (("泡沫轴和筋膜枪，哪个更有用？", "放松工具求推荐：泡沫轴还是筋膜枪", "筋膜枪值得买吗？", "跑后放松大家用什么"),
         "想买个放松工具。泡沫轴便宜但是滚起来很疼，筋膜枪方便但是要几百块。用过的说说？",
         ("泡沫轴够用了，筋膜枪更多是方便。", "两个都有，常用的是泡沫轴。", "筋膜枪别对着骨头打。",
          "花生球也好用，便宜。")),
        (("长距离老抽筋，盐丸到底有没有用", "25 公里以后必抽筋，求解", "抽筋问题困扰很久了", "盐丸、电解质，哪个防抽筋有用？"),
         "每次跑到 25 公里以后小腿就开始抽，试过喝运动饮料，效果一般。\n\n有人说是电解质，有人说是肌肉力量不够。大家怎么解决的？",
         ("盐丸对我有用，每小时一颗，配合喝水。", "抽筋可能跟力量有关，多练练提踵。",
          "比赛前一周别加量，保持状态。", "我也是，后来加了力量训练就好多了。")),
        (("夜跑完睡不着是怎么回事", "夜跑后失眠，有同样情况的吗", "晚上跑完心率降不下来，睡不着"),
         "晚上九点多跑完，到 12 点还是很清醒，心率降不下来。改成早上跑又起不来。有类似情况的吗？",
         ("跑完洗个热水澡，别马上看手机，我现在十一点就能睡。", "强度太大了吧，夜跑就跑轻松一点。",
          "我也是，后来改成早上跑了。")),
        (("足底筋膜炎三个月了，分享一下恢复过程", "足底筋膜炎康复记录", "脚跟疼了三个月，终于好了，说说经验"),
         "从 {month} 月开始早上下床第一步脚跟刺痛，确诊足底筋膜炎。这三个月做的事：\n\n1. 停跑两周，改游泳\n2. 每天踩网球、拉伸小腿\n3. 换了一双支撑好一点的鞋（{shoe}）\n4. 恢复跑步从 3 公里开始，每周加 10%\n\n现在基本不疼了。\n\n> 伤病的时候最难的是忍住不跑\n\n共勉。",
         ("足底筋膜炎太难受了，我当时也是踩网球踩好的。", "感谢分享，我现在也有点苗头。", "冰敷也有帮助。",
          "恢复期别急，慢慢来。")),
    ],
    "chat": [
        (("下雨天大家都在干嘛", "连下三天雨，憋坏了", "下雨天你们还跑吗？", "又下雨了，今天的跑量泡汤"), "连着下了三天雨，跑步机跑得想吐。你们下雨天都干嘛？",
         ("下雨就在家撸猫 😂", "雨中跑也挺爽的，只要不打雷。", "撸铁！", "跑步机看剧，一集 40 分钟刚好。")),
        (("晒晒你们的奖牌墙", "奖牌架终于买了，晒一下", "你们的奖牌都怎么收纳？", "整理奖牌的时候发现好多忘了是哪场的"),
         "搬家整理出来 {n} 块奖牌，终于买了个奖牌架挂起来。最喜欢的是{race}那块，沉甸甸的。\n\n你们最喜欢哪块？",
         ("奖牌墙好壮观！", "我最喜欢{race}的奖牌，做得太好看了。", "我的还在抽屉里吃灰。", "羡慕，我才两块。")),
        (("跑步以后最大的变化是什么？", "跑步改变了你什么？", "坚持跑步一年，说说变化", "跑步前后的自己，有啥不一样"),
         "我先来：\n\n- 体重掉了 {jin} 斤\n- 不怎么熬夜了\n- 朋友圈从美食变成了跑步截图 😂\n\n你们呢？",
         ("最大的变化是饭量变大了", "心情变好了，焦虑少了很多。", "体检指标全部正常了！", "鞋柜里全是跑鞋。")),
        ("周末{place}人好多，跑都跑不开",
         "今天{clock}到的{place}，人比平时多一倍，还有好几个团在拍照。下次得更早出门了。",
         ("周末早上 6 点的{place}人也多，现在跑步的人太多了。", "工作日来，人少。", "人多也好，有气氛。")),
        (("上班摸鱼看跑步视频被老板抓到了", "说个好笑的：老板也跑步", "公司里发现了一个跑友，竟然是老板"),
         "老板路过问我在看什么，我说在研究{race}的赛道。他说他也报了…… 下周一起跑了。",
         ("哈哈哈哈老板也报了，这下可以光明正大看了", "带老板入坑，年终奖稳了。", "太真实了 😂")),
        ("有没有{city}的跑友？",
         "下个月调去{city}工作，想提前找找当地跑团。平时跑 {km} 公里左右，配速 {pace}。求推荐跑步的地方！",
         ("同{city}，欢迎来{place}跑！", "{city}的跑团挺多的，站内信推荐你。", "{place}不错，早上空气好。")),
        (("今天地铁上遇到一个穿完赛T的", "路上偶遇跑友是什么体验"),
         "早上地铁上，旁边大哥穿着{race}的完赛 T，我差点就上去搭话了。你们有没有路上偶遇跑友的经历？",
         ("我在{place}被人认出来过，说在论坛见过我的头像 😂", "完赛 T 就是跑者的接头暗号。",
          "下次直接问，跑者都很友好的。", "我一般会偷偷看一眼对方的鞋。")),
        (("冬天早上实在起不来", "天冷了，晨跑坚持不下去了", "冬天大家几点跑？"),
         "闹钟响了三遍，被窝太暖和了。冬天你们怎么说服自己出门的？",
         ("前一晚把衣服鞋子都摆好，起来直接穿。", "改成中午跑，太阳出来暖和。", "约人一起跑，放鸽子不好意思。",
          "冬天我就跑跑步机了。")),
        (("带狗跑步要注意什么？", "有没有养狗的跑友"),
         "家里的柯基最近胖了，想带它一起跑。狗狗能跑多远？夏天要注意什么？",
         ("柯基腿短，别跑太远，3 公里以内吧。", "夏天千万别中午带狗跑，地面太烫。", "我家边牧能跟我跑 10 公里，超兴奋。",
          "记得给它带水。")),
        (("跑步时你们脑子里在想什么？", "跑步的时候会想什么"),
         "长距离跑到后面，我脑子里只剩下「还有几公里」。你们跑步的时候都在想什么？",
         ("想晚上吃什么。", "什么都不想，放空的感觉最好。", "在心里背单词 😂", "想工作的事，很多问题跑着跑着就想通了。")),
        (("跑步听什么歌？求歌单", "求跑步歌单，170 步频左右", "跑步时大家听歌还是听播客？", "分享一下你的跑步歌单"), "最近一直在听同一个歌单，听腻了。求推荐节奏感强一点的，170 步频左右最好。",
         ("冲刺专用：Till I Collapse。", "我跑步只听播客。", "周杰伦的歌跑起来刚好。", "不听歌，听自己的呼吸 😂")),
        (("【闲聊】你们是怎么开始跑步的", "入坑跑步的契机是什么？", "聊聊你跑步的第一天", "你们当初为什么开始跑步"),
         "我是 {years} 年前体检查出脂肪肝，医生让运动，就从每天 2 公里开始，一直跑到现在。你们呢？",
         ("我是失恋开始跑的，跑着跑着就好了。", "为了减肥，现在停不下来了。", "被同事拉进坑的。",
          "陪女朋友跑，后来她不跑了我还在跑。")),
    ],
    "core": [
        ("【内部】{month} 月跑团活动预算",
         "{month} 月活动预算草案，大家看看：\n\n| 项目 | 预算 |\n|---|---|\n| 周末 LSD 补给 | {amount} 元 |\n| 月度聚餐 | {amount2} 元 |\n| 新人见面礼 | {amount3} 元 |\n\n有异议的这周内提，周末定稿。@{mod}",
         ("预算没问题，聚餐可以稍微加一点。", "新人见面礼可以做成跑团徽章。", "同意。", "补给建议多买点电解质。")),
        (("下季度团购供应商对接情况", "【内部】团购供应商续约讨论", "跑鞋供应商报价更新"),
         "跟{brand}那边谈了，下季度团购价能打 {discount} 折，条件是每期不少于 {moq} 双。\n\n另外能量胶的供应商换了一家，一箱便宜 {diff} 块。\n\n大家觉得要不要签一年？",
         ("签一年可以，但要写清楚断码怎么处理。", "折扣不错，可以签。", "先签半年试试。")),
        (("跑团队服设计稿投票", "【投票】新一季队服选哪版", "队服第二轮投票（截止周五）"),
         "设计师给了三版：\n\n1. 深蓝底 + 白字（经典）\n2. 荧光黄（夜跑显眼）\n3. 黑红配色\n\n楼下回复数字投票，周五截止。",
         ("投 2，夜跑安全第一。", "投 1，经典不会出错。", "投 3。", "2 +1")),
        (("年度聚餐地点征集", "年底聚餐去哪儿？征集餐厅", "【内部】年会聚餐地点"), "年底聚餐，预计 {n} 桌，大家推荐一下{city}的餐厅，最好有包间、离地铁近。",
         ("推荐{place}旁边那家火锅，包间能坐 30 人。", "上次那家烤鸭不错。", "离地铁近最重要。")),
        (("新人审核标准讨论", "核心区准入门槛要不要提高", "关于新人申请的几点建议"),
         "最近申请加入的人多了，有几个注册完就发广告。建议核心会员区以后：\n\n- 注册满 30 天\n- 发帖 10 篇以上\n\n才能申请。大家意见？",
         ("同意提高门槛，广告号太多了。", "30 天有点长，新人容易流失，建议 14 天。", "支持。")),
    ],
}
GENERIC_REPLIES = [
    "学习了，感谢分享！", "马一下，回头细看。", "加油！", "说得太对了。", "哈哈哈同款。", "收藏了。",
    "有道理，我回去试试。", "{tip}，这个最重要。", "楼主是{city}的吗？", "顶一下。",
]
QUOTE_RESPONSES = [
    "同意，补充一点：{tip}。", "这个我不太同意，每个人情况不一样，还是要看自己身体感受。",
    "+1，我也是这么做的。", "请问具体是怎么做的？能详细说说吗？", "太真实了。", "感谢！这条有用。",
]
QUOTE_QUESTION_RESPONSES = ["同问，坐等大佬。", "我也想知道。", "这个问题我也纠结过，{tip}。",
                            "我的做法是：{tip}。"]
MENTION_REPLIES = [
    "@{member} 周末一起？", "@{member} 你之前不是也遇到过这个问题吗", "@{member} 这个你最懂，帮忙看看",
    "@{member} 快来看，跟你说的一模一样", "@{member} 说得对，我也是这么想的",
]
PINNED_REPLIES = ["收到，已读。", "支持！", "新人报到，已阅读。", "好的，明白了。", "建议加一条：{tip}。"]
OP_ANSWERS = ["谢谢大家的建议，{resolution}。", "感谢各位！{resolution}。", "收到，{resolution}。"]
OP_REPLIES = ["谢谢大家捧场！", "哈哈，楼上说得对。", "感谢回复～", "继续继续，欢迎大家来聊。"]
LIST_REPLY = "我的经验：\n\n1. {tip}\n2. {tip2}\n3. {tip3}"
SPAM = ["低价出各种品牌跑鞋，正品保证，加 V：run{n}{n2}88", "兼职刷单日结 300，有意私聊 {n}{n2}",
        "代报各大马拉松，包中签，联系 QQ {n}{n2}{n3}"]

#: Private conversations the demo starts: (sender, recipients, subject, messages). Messages
#: alternate between the sender and the first recipient (a third voice with "@name: text").
CONVERSATIONS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("kiki_run", ("laozhou",), "周六 LSD 路线确认", (
        "老周，周六的 LSD 还是奥森北园出发吗？我想带两个新人一起。",
        "对，七点北园南门集合，新人跑 10 公里那一组就行。",
        "好嘞，我让她们提前十分钟到，顺便带一下补给。",
    )),
    ("ayu_pace", ("laozhou", "跑者小林"), "十一月团购跑鞋统计", (
        "这次团购报名的有 23 个人了，尺码表我整理好了，周五截止。",
        "辛苦！截止后把表发我，我去跟店家确认价格。",
        "@跑者小林: 你那双要 42.5 还是 43？",
    )),
)
#: Spam the demo posts (through the posting service, as "joy_chen") in the newest public
#: threads, and the members who report it: the moderation queue has cases to show, and
#: two reporters on the first show how reports on one post are grouped.
SPAMMER = "joy_chen"
FRESH_SPAM = ("低价出各种品牌跑鞋，正品保证，加 V：run3388", "兼职刷单日结 300，有意私聊 5566")
SPAM_REPORTERS = (("kiki_run", "陈半马"), ("lemon_tea",))

HOT_TITLE = "【每日打卡】跑量打卡楼，跑完来报个到（第三季）"
HOT_BODY = ("第三季打卡楼开张！\n\n规则很简单：\n\n1. 每天跑完来回帖，写上距离和配速\n"
            "2. 断卡没关系，回来接着打\n3. 别只发「打卡」两个字，说说今天的感受\n\n"
            "> 跑步最难的不是跑，是出门。\n\n一起坚持 90 天！@{mod} 会每周统计一次跑量。")
HOT_POSTS = [  # (weight, template)
    "第 {day} 天打卡 ✅ {km} 公里，配速 {pace}。{note}。",
    "打卡 ✅ {km} 公里 / {pace}\n\n{note}。",
    "Day {day}：{km} 公里，心率 {hr}，{note}。",
    "今天的课表：\n\n- 热身 2 公里\n- {reps}\n- 放松 2 公里\n\n{note}。",
    "{km} 公里 ✅ @{member} 今天怎么没来打卡？",
    "补卡：昨天 {km} 公里，今天 {km2} 公里。{note}。",
    "第 {day} 天，{lsdkm} 公里长距离 ✅ 分段：\n\n- 前 10 公里 {slowpace}\n- 中间 {pace}\n- 最后 5 公里 {pace2}\n\n{note}。",
]
HOT_WEIGHTS = [6, 4, 4, 2, 1, 1, 1]
PINNED: dict[str, tuple[str, str, int]] = {
    "yuepao": ("【必读】约跑版规 & 安全须知",
               "发约跑帖请写清楚：\n\n1. 时间、集合地点\n2. 距离和配速\n3. 是否欢迎新人\n\n"
               "安全第一：夜跑穿亮色衣服，身体不舒服立即停下。\n\n> 约跑不收费，谁收费请举报。\n\n有问题找 @{mod}",
               MODERATOR_INDEX),
    "gear": ("【团购规则】拼团流程与售后说明（新人必看）",
             "拼团流程：\n\n1. 团长发帖，写清型号、价格、截止时间\n2. 楼下接龙报尺码\n3. 成团后统一付款\n"
             "4. 到货后一周内有质量问题找团长\n\n| 情况 | 处理 |\n|---|---|\n| 质量问题 | 换新 |\n"
             "| 尺码不合适 | 群内转让 |\n| 未成团 | 全额退款 |\n\n团购负责人：@{organiser}",
             ADMIN_INDEX),
    "core": ("【核心会员】本区说明", "本区只有会员可见，游客看不到。\n\n- 活动预算、团购对接在这里讨论\n"
             "- 内容请勿外传\n\n有建议直接跟帖或者 @{admin}", ADMIN_INDEX),
}
# fmt: on

# --------------------------------------------------------------------------- the plan


@dataclass
class PlannedPost:
    """A post to write: ``author`` indexes :data:`MEMBERS`."""

    author: int
    source: str
    created_at: datetime
    deleted: bool = False


@dataclass
class PlannedThread:
    """A thread to write, posts in number order."""

    board: str
    title: str
    posts: list[PlannedPost] = field(default_factory=list)
    replies: tuple[str, ...] = ()  # what fits this topic (not stored)
    context: dict[str, str] = field(default_factory=dict)  # its details, shared by replies
    said: set[str] = field(default_factory=set)  # reply templates used here already
    pinned: bool = False
    locked: bool = False
    views: int = 0

    @property
    def created_at(self) -> datetime:
        """When the first post was written."""
        return self.posts[0].created_at


class DemoSize(NamedTuple):
    """How many threads and posts a scale asks for (the hot thread included)."""

    threads: int
    posts: int
    hot_posts: int


def demo_size(scale: float = 1.0) -> DemoSize:
    """Scale 1.0: 500 threads, 5,000 posts, one hot thread of 2,000. Smaller scales shrink
    proportionally down to a floor that still has every board and the pinned threads."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    threads = max(len(BOARDS) + len(PINNED) + 2, round(500 * scale))
    hot = max(2, round(2000 * scale))
    posts = max(round(5000 * scale), hot + threads - 1)
    return DemoSize(threads, posts, hot)


@cache
def _converter(region: str):
    import opencc

    return opencc.OpenCC("s2twp" if region == "tw" else "s2hk")


def to_traditional(text: str, region: str) -> str:
    """Simplified → Traditional as written in 台湾 (``tw``) or 香港 (``hk``)."""
    converted = _converter(region).convert(text)
    return converted.replace("臺", "台") if region == "tw" else converted


_FIELD_NUMBER = re.compile(r"^(.*?)(\d*)$")
#: Fields whose value a thread's replies share with its first post ("同{city}" …).
SHARED = frozenset(
    [
        "place",
        "city",
        "race",
        "shoe",
        "watch",
        "watch2",
        "gel",
        "gear",
        "trail",
        "brand",
        "clock",
        "weekday",
        "km",
        "pace",
        "lsdkm",
        "shoekm",
        "date",
        "pacer",
        "climb",
        "food",
    ]
)


class Writer:
    """Fills templates for one author: local places, Traditional Chinese where the author
    writes it, @mentions of real members kept verbatim."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def fill(
        self,
        template: str,
        author: int,
        mentionable: Sequence[int] = (),
        context: dict[str, str] | None = None,
    ) -> str:
        """The template with every ``{field}`` filled, in the author's script.

        ``context`` holds the thread's details (its city, race, shoe …): fields named in
        :data:`SHARED` take their value from it, or put a new one into it.
        """
        member = MEMBERS[author]
        names: list[str] = []
        chosen: dict[str, str] = {}
        picked: dict[str, list[str]] = {}
        for _, name, _, _ in string.Formatter().parse(template):
            if name is None or name in chosen:
                continue
            base = _FIELD_NUMBER.match(name).group(1)
            if base in ("member", "mod", "admin", "organiser"):
                username = self._username(base, author, mentionable, picked.get("member", []))
                picked.setdefault("member", []).append(username)
                names.append(username)
                chosen[name] = f"\x01{len(names) - 1}\x02"
            elif context is not None and name in SHARED and name in context:
                chosen[name] = context[name]
                picked.setdefault(base, []).append(chosen[name])
            else:
                chosen[name] = self._value(base, member.region, picked.setdefault(base, []))
                if context is not None and name in SHARED:
                    context[name] = chosen[name]
        text = template.format(**chosen)
        if member.region != "cn":
            text = to_traditional(text, member.region)
        return re.sub(r"\x01(\d+)\x02", lambda m: names[int(m.group(1))], text)

    def _username(self, base: str, author: int, mentionable: Sequence[int], used: list[str]) -> str:
        fixed = {"mod": MODERATOR_INDEX, "admin": ADMIN_INDEX, "organiser": ORGANISER_INDEX}
        if base in fixed:
            return MEMBERS[fixed[base]].username
        pool = [i for i in mentionable if i != author and MEMBERS[i].username not in used]
        if not pool:
            pool = [
                i for i in range(len(MEMBERS)) if i != author and MEMBERS[i].username not in used
            ]
        return MEMBERS[self.rng.choice(pool)].username

    def _value(self, base: str, region: str, used: list[str]) -> str:
        for _ in range(8):
            if base == "place":
                value = self.rng.choice(PLACES[region])
            elif base == "city":
                value = self.rng.choice(CITIES[region])
            elif base in NUMBERS:
                value = NUMBERS[base](self.rng)
            else:
                value = self.rng.choice(VOCAB[base])
            if value not in used:
                break
        used.append(value)
        return value


def _snippet(source: str) -> str:
    """The first lines of a post worth quoting (its own words, not its quotes)."""
    lines = [
        ln.strip()
        for ln in source.splitlines()
        if ln.strip() and not ln.lstrip().startswith((">", "|"))
    ]
    picked = lines[:2] if len(lines) > 1 and len(lines[0]) < 30 else lines[:1]
    return "\n".join(ln if len(ln) <= 80 else ln[:78] + "……" for ln in picked)


def _times(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """``count`` sorted moments in ``(start, end]``, to the second."""
    span = max(60.0, (end - start).total_seconds())
    seconds = sorted(rng.uniform(30, span) for _ in range(count))
    return [(start + timedelta(seconds=s)).replace(microsecond=0) for s in seconds]


def _pick_author(rng: random.Random, weights: list[float], avoid: int | None = None) -> int:
    while True:
        index = rng.choices(range(len(MEMBERS)), weights)[0]
        if index != avoid:
            return index


def _fresh(rng: random.Random, bank: Sequence[str], thread: PlannedThread) -> str | None:
    """A template from ``bank`` not yet used in ``thread`` (None when all were)."""
    unused = [t for t in bank if t not in thread.said]
    if not unused:
        return None
    choice = rng.choice(unused)
    thread.said.add(choice)
    return choice


def _reply(rng: random.Random, writer: Writer, thread: PlannedThread, author: int) -> str:
    """One reply in ``thread`` by ``author``: topic talk, a quote, an @mention, a list…"""
    live = [p for p in thread.posts if not p.deleted]
    participants = list(dict.fromkeys(p.author for p in live))
    op = thread.posts[0].author
    roll = rng.random()
    if thread.pinned:
        return writer.fill(rng.choice(PINNED_REPLIES), author)
    if author == op and roll >= 0.16:
        question = thread.title.endswith(("？", "?", "求带", "看看"))
        return writer.fill(rng.choice(OP_ANSWERS if question else OP_REPLIES), author)
    quotable = [
        p
        for p in live[1:][-8:]
        if p.author != author and len(p.source) > 12 and not p.source.startswith((">", "@"))
    ]
    if roll < 0.16 and (quotable or author != op and rng.random() < 0.3):
        quoted = rng.choice(quotable or live[:1])
        bank = QUOTE_QUESTION_RESPONSES if "？" in _snippet(quoted.source) else QUOTE_RESPONSES
        answer = writer.fill(rng.choice(bank), author, context=thread.context)
        return quote_source(MEMBERS[quoted.author].username, _snippet(quoted.source)) + answer
    if roll < 0.27:
        return writer.fill(rng.choice(MENTION_REPLIES), author, participants)
    if roll < 0.32 and "？" in thread.posts[0].source:
        return writer.fill(LIST_REPLY, author)
    template = None
    if roll < 0.88:
        template = _fresh(rng, thread.replies, thread)
    template = template or _fresh(rng, GENERIC_REPLIES, thread)
    if template is None:
        return writer.fill(rng.choice(MENTION_REPLIES), author, participants)
    return writer.fill(template, author, participants, context=thread.context)


def _hot_thread(
    rng: random.Random,
    writer: Writer,
    start: datetime,
    end: datetime,
    count: int,
    weights: list[float],
) -> PlannedThread:
    created = start + timedelta(hours=rng.uniform(20, 30))
    created = created.replace(microsecond=0)
    thread = PlannedThread("yuepao", HOT_TITLE, pinned=True)
    thread.posts.append(PlannedPost(CHECKIN_INDEX, writer.fill(HOT_BODY, CHECKIN_INDEX), created))
    regulars = [i for i, m in enumerate(MEMBERS) if m.weight >= 1.0]
    for when in _times(rng, created, end, count - 1):
        author = rng.choice(regulars) if rng.random() < 0.7 else _pick_author(rng, weights)
        day = (when.date() - created.date()).days + 1
        if rng.random() < 0.06 and len(thread.posts) > 1:
            previous = thread.posts[-1]
            text = quote_source(MEMBERS[previous.author].username, _snippet(previous.source))
            text += writer.fill(
                rng.choice(["加油！", "厉害了，我今天偷懒了", "明天跟你一起跑"]), author
            )
        else:
            template = rng.choices(HOT_POSTS, HOT_WEIGHTS)[0].replace("{day}", str(day))
            recent = [p.author for p in thread.posts[-20:]]
            text = writer.fill(template, author, recent)
        thread.posts.append(PlannedPost(author, text, when))
    thread.views = count * rng.randint(8, 15)
    return thread


def _split(rng: random.Random, total: int, parts: int, cap: int = 60) -> list[int]:
    """Split ``total`` into ``parts`` long-tailed shares of at most ``cap`` (while they fit)."""
    if parts <= 0:
        return []
    cap = max(cap, -(-total // parts))
    weights = [rng.lognormvariate(0, 1.0) for _ in range(parts)]
    scale = total / sum(weights)
    shares = [min(cap, int(w * scale)) for w in weights]
    while (missing := total - sum(shares)) > 0:
        room = [i for i in range(parts) if shares[i] < cap]
        for i in rng.sample(room, min(missing, len(room))):
            shares[i] += 1
    return shares


def plan_demo(
    scale: float = 1.0, now: datetime | None = None, seed: int = SEED
) -> list[PlannedThread]:
    """The demo's threads in creation order, with every post. Deterministic for a seed and
    ``now`` (timestamps lie in the :data:`WINDOW_DAYS` before ``now``)."""
    size = demo_size(scale)
    rng = random.Random(seed)
    writer = Writer(rng)
    now = (now or datetime.now(UTC).replace(tzinfo=None)).replace(microsecond=0)
    start = now - timedelta(days=WINDOW_DAYS)
    end = now - timedelta(minutes=5)
    weights = [m.weight for m in MEMBERS]

    threads: list[PlannedThread] = []
    for slug, (title, body, author) in PINNED.items():
        created = (start + timedelta(hours=rng.uniform(1, 12))).replace(microsecond=0)
        thread = PlannedThread(slug, title, pinned=True)
        thread.posts.append(PlannedPost(author, writer.fill(body, author), created))
        threads.append(thread)

    others = size.threads - 1 - len(PINNED)
    boards = [b.slug for b in BOARDS]
    board_of = boards + rng.choices(boards, [b.weight for b in BOARDS], k=others - len(boards))
    rng.shuffle(board_of)
    locked_done = False
    started: set[tuple[int, str, int]] = set()
    seen_titles: set[str] = set()
    for slug in board_of:
        author = _pick_author(rng, weights)
        topic = rng.randrange(len(THREADS[slug]))
        for _ in range(5):  # the same member rarely starts the same kind of thread twice
            if (author, slug, topic) not in started:
                break
            author, topic = _pick_author(rng, weights), rng.randrange(len(THREADS[slug]))
        started.add((author, slug, topic))
        titles, body_t, topic_replies = THREADS[slug][topic]
        titles = titles if isinstance(titles, tuple) else (titles,)
        context: dict[str, str] = {}
        for _ in range(6):  # the same title twice only when the variants run out
            context = {}
            template = rng.choice(titles) + "\x03" + body_t
            title, body = writer.fill(template, author, context=context).split("\x03")
            if title not in seen_titles:
                break
        seen_titles.add(title)
        created = _times(rng, start + timedelta(days=1), end - timedelta(hours=2), 1)[0]
        thread = PlannedThread(slug, title[:120], replies=topic_replies, context=context)
        thread.posts.append(PlannedPost(author, body, created))
        if slug == "races" and not locked_done and "团报" in body:
            thread.locked = locked_done = True
        threads.append(thread)

    replies = _split(rng, size.posts - size.hot_posts - len(threads), len(threads))
    for i, thread in enumerate(threads):  # rules threads get a few acknowledgements only
        if thread.pinned and replies[i] > 4:
            spare, replies[i] = replies[i] - 4, 4
            replies[len(PINNED) + i] += spare
    for thread, count in zip(threads, replies, strict=True):
        _add_replies(rng, writer, thread, count, end, weights)

    threads.append(_hot_thread(rng, writer, start, end, size.hot_posts, weights))
    _ensure_a_deleted_post(rng, threads)
    threads.sort(key=lambda t: t.created_at)
    return threads


def _add_replies(
    rng: random.Random,
    writer: Writer,
    thread: PlannedThread,
    count: int,
    end: datetime,
    weights: list[float],
) -> None:
    created = thread.created_at
    lifetime = timedelta(hours=rng.expovariate(1 / 30) + count * rng.uniform(0.5, 3))
    last = min(end, created + lifetime)
    op = thread.posts[0].author
    for when in _times(rng, created, last, count):
        previous = thread.posts[-1].author
        author = op if rng.random() < 0.15 else _pick_author(rng, weights, avoid=previous)
        if author == previous:
            author = _pick_author(rng, weights, avoid=previous)
        if rng.random() < 0.012:
            text = writer.fill(rng.choice(SPAM), author)
            thread.posts.append(PlannedPost(author, text, when, deleted=True))
            continue
        text = _reply(rng, writer, thread, author)
        thread.posts.append(PlannedPost(author, text, when))
    thread.views = len(thread.posts) * rng.randint(6, 25) + rng.randint(10, 80)


def _ensure_a_deleted_post(rng: random.Random, threads: list[PlannedThread]) -> None:
    """Even a tiny demo has one removed spam post, so counters skip deleted posts visibly."""
    if any(p.deleted for t in threads for p in t.posts):
        return
    candidates = [t for t in threads if len(t.posts) > 1 and t.title != HOT_TITLE]
    if not candidates:
        return
    thread = rng.choice(candidates)
    post = thread.posts[rng.randrange(1, len(thread.posts))]
    post.deleted = True
    post.source = Writer(rng).fill(SPAM[0], post.author)
