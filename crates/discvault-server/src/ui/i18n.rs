//! The web UI's words in Chinese (zh-CN, the default) and English. Every label, message and
//! error shown is looked up here by its key; a test checks that every key used in the UI's
//! sources is here, in both languages.

use axum::http::HeaderMap;

/// The language of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// The cookie that keeps the language chosen.
pub const LANG_COOKIE: &str = "discvault_lang";

impl Lang {
    /// The language chosen (the cookie), else the browser's first: English when it prefers
    /// English, Chinese otherwise.
    pub fn of(headers: &HeaderMap) -> Lang {
        match crate::auth::cookie(headers, LANG_COOKIE).as_deref() {
            Some("en") => return Lang::En,
            Some("zh") => return Lang::Zh,
            _ => {}
        }
        let first = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(',').next())
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if first.starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    /// `zh-CN` or `en`: the page's `lang`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The short code in the cookie and the switch's link.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The words of `key`, if it has any.
    pub fn words(self, key: &str) -> Option<&'static str> {
        WORDS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, zh, en)| match self {
                Lang::Zh => *zh,
                Lang::En => *en,
            })
    }

    /// The words of `key`.
    pub fn t(self, key: &str) -> &'static str {
        match WORDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, zh, en)) => match self {
                Lang::Zh => zh,
                Lang::En => en,
            },
            // A key missing is a bug the test below finds; the page still shows something.
            None => "?",
        }
    }
}

/// (key, Chinese, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("app.name", "光盘档案库", "discvault"),
    (
        "app.tagline",
        "光盘档案长期保存系统",
        "Archival storage on optical discs",
    ),
    ("lang.switch", "English", "中文"),
    ("nav.main", "主导航", "Main"),
    ("nav.dashboard", "工作台", "Dashboard"),
    ("nav.search", "查找", "Search"),
    ("nav.ingest", "接收", "Ingest"),
    ("nav.plan", "规划", "Plan"),
    ("nav.publish", "刻录", "Publish"),
    ("nav.cabinets", "柜架", "Cabinets"),
    ("nav.inspect", "检测", "Inspection"),
    ("nav.reports", "报表", "Reports"),
    ("nav.audit", "审计", "Audit log"),
    ("nav.settings", "设置", "Settings"),
    ("nav.users", "用户", "Users"),
    ("nav.skip", "跳到正文", "Skip to content"),
    ("user.signed_in_as", "当前用户", "Signed in as"),
    ("user.logout", "退出登录", "Log out"),
    ("role.admin", "管理员", "admin"),
    ("role.archivist", "档案员", "archivist"),
    ("role.operator", "操作员", "operator"),
    ("role.auditor", "审计员", "auditor"),
    ("login.title", "登录", "Log in"),
    ("login.user", "用户名", "User name"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.wrong",
        "用户名或密码错误，或该用户已停用。",
        "Wrong user name or password, or the user is disabled.",
    ),
    (
        "login.too_many",
        "登录尝试过多，请稍后再试（秒）：",
        "Too many login attempts; try again in (seconds):",
    ),
    (
        "login.expired",
        "会话已结束，请重新登录。",
        "Your session ended: please log in again.",
    ),
    (
        "login.cross_site",
        "登录请求来自其他网站，已拒绝。",
        "The login came from another site and was refused.",
    ),
    ("dash.title", "工作台", "Dashboard"),
    ("dash.waiting", "待办事项", "Waiting for you"),
    ("dash.unplanned", "待规划", "Not yet planned"),
    ("dash.to_master", "待制作镜像的卷", "Volumes to master"),
    ("dash.to_publish", "待刻录的卷", "Volumes to publish"),
    (
        "dash.overdue",
        "检测到期的副本",
        "Copies due for inspection",
    ),
    ("dash.to_migrate", "须迁移的副本", "Copies to migrate"),
    ("dash.shortfalls", "副本不足的卷", "Volumes short of copies"),
    ("dash.holdings", "馆藏", "Holdings"),
    ("dash.ingested", "已接收", "Ingested"),
    ("dash.mastered", "已制成镜像", "Mastered"),
    ("dash.copies", "副本", "Copies"),
    ("dash.trusted", "可信副本", "Trusted copies"),
    ("dash.by_state", "各状态的卷", "Volumes by state"),
    ("dash.files", "个文件", "files"),
    ("dash.volumes", "卷", "volumes"),
    ("dash.none", "无", "none"),
    ("state.planned", "已规划", "planned"),
    ("state.mastered", "已制成镜像", "mastered"),
    ("state.published", "已刻录", "published"),
    ("state.retired", "已退役", "retired"),
    ("state.unplanned", "未规划", "unplanned"),
    ("search.title", "查找", "Search"),
    (
        "search.label",
        "文件名、路径片段、摘要值或 键=值",
        "File name, part of a path, a digest, or KEY=VALUE",
    ),
    ("search.submit", "查找", "Search"),
    (
        "search.hint",
        "一两个汉字即可，如“通知”。",
        "One or two Chinese characters are enough, e.g. 通知.",
    ),
    ("search.results", "查找结果", "Results"),
    ("search.none", "没有找到。", "Nothing found."),
    (
        "search.more",
        "还有更多结果，请缩小查找范围。",
        "There are more: narrow the search.",
    ),
    ("search.path", "路径", "Path"),
    ("search.collection", "类别", "Collection"),
    ("search.version", "版本", "Version"),
    ("search.size", "大小", "Size"),
    ("search.state", "状态", "State"),
    ("search.where", "所在光盘与位置", "Discs and places"),
    ("search.no_copy", "尚无副本", "no copy yet"),
    ("search.part", "部分", "part"),
    ("search.tick", "选取", "Pick"),
    ("search.pick", "生成取盘清单", "Make a pick list"),
    (
        "search.pick_hint",
        "勾选要调阅或恢复的文件。",
        "Tick the files to fetch or restore.",
    ),
    ("pick.title", "取盘清单", "Pick list"),
    (
        "pick.none",
        "没有选取文件：请在查找结果中勾选。",
        "No file picked: tick files in a search.",
    ),
    ("pick.print", "打印清单", "Print the list"),
    (
        "pick.discs",
        "需从柜中取出的光盘",
        "Discs to fetch from the cabinets",
    ),
    (
        "pick.no_discs",
        "这些文件尚未刻录到光盘。",
        "These files are on no disc yet.",
    ),
    ("pick.volume", "卷", "Volume"),
    ("pick.barcode", "条码", "Barcode"),
    ("pick.place", "位置", "Place"),
    ("pick.trust", "可信", "Trust"),
    ("pick.fetched", "已取", "Fetched"),
    ("pick.files", "文件", "Files"),
    ("pick.on", "所在卷", "On volumes"),
    (
        "pick.unplaced",
        "尚未规划到光盘的文件：",
        "Files not yet planned onto a disc:",
    ),
    (
        "pick.unmastered",
        "尚未制作镜像的卷：",
        "Volumes not yet mastered:",
    ),
    ("pick.missing", "未找到：", "Not found:"),
    ("pick.restore", "恢复这些文件", "Restore these files"),
    (
        "pick.from",
        "从光盘或镜像读取（服务器上的路径，每行一个）",
        "Read from discs or images (paths on the server, one a line)",
    ),
    (
        "pick.from_hint",
        "如 /srv/images/DV-000001.iso 或已挂载光盘的目录，须在服务器允许的目录内。",
        "Such as /srv/images/DV-000001.iso or a mounted disc, inside the server's roots.",
    ),
    (
        "pick.to",
        "恢复到（服务器上的目录）",
        "Restore into (a folder on the server)",
    ),
    (
        "pick.to_hint",
        "留空：恢复结果保存在档案库中，完成后可下载。",
        "Empty: kept in the vault, to download when done.",
    ),
    ("pick.restore_submit", "开始恢复", "Restore"),
    ("pick.queued", "已加入任务：", "Tasks queued:"),
    ("pick.failed", "未能恢复：", "Not restored:"),
    (
        "pick.need_from",
        "请给出读取的光盘或镜像。",
        "Name the discs or images to read from.",
    ),
    (
        "task.download",
        "下载恢复结果：",
        "Download the restored files:",
    ),
    (
        "users.scopes_hint",
        "（不勾选：该用户角色的全部权限）",
        "(none ticked: everything the user's role may do)",
    ),
    ("scope.read", "查看", "read"),
    (
        "scope.archive",
        "档案业务（接收、规划、制作镜像、恢复）",
        "archive (ingest, plan, master, restore)",
    ),
    (
        "scope.operate",
        "刻录、副本、柜架与检测",
        "operate (publish, copies, cabinets, inspections)",
    ),
    (
        "scope.administer",
        "管理（用户、令牌、订阅）",
        "administer (users, tokens, webhooks)",
    ),
    ("users.expires_days", "有效天数", "Valid for (days)"),
    (
        "users.expires_hint",
        "留空：不过期。",
        "Empty: never expires.",
    ),
    (
        "pick.wildcard",
        "含通配符（* ? [）的文件名无法在此精确恢复，请用命令行",
        "a name with a wildcard (* ? [) cannot be restored exactly here; use the command line",
    ),
    ("task.rejected", "不合格的光盘", "Discs rejected"),
    (
        "task.rejected_hint",
        "这些光盘不含其副本（刻录失败或读回发现损坏），副本已重新刻录。请按下表处理每张光盘。",
        "These discs do not hold their copy (the burn failed, or the read-back found damage); the copy was burned again. Deal with each disc as the table says.",
    ),
    ("task.disc", "光盘", "Disc"),
    ("task.reason", "原因", "Why"),
    ("task.label", "识别标记", "How to tell it"),
    ("task.action", "处理方法", "What to do"),
    ("settings.title", "设置与保存策略", "Settings and policy"),
    ("settings.from", "本服务器的配置文件：", "This server's configuration file:"),
    ("settings.policy", "保存策略", "Preservation policy"),
    ("settings.min_copies", "每卷至少可信副本数", "Trusted copies each volume needs"),
    ("settings.min_sites", "副本至少分布的馆址数", "Sites the copies are kept in"),
    ("settings.roles", "每卷制作的副本", "Copies made of each volume"),
    ("settings.by_collection", "不同于上述的类别", "Collections that differ"),
    ("settings.inspection", "检测", "Inspection"),
    ("settings.interval", "读回检测周期", "Read-back interval"),
    ("settings.warning_interval", "质量预警后的检测周期", "Interval after a quality warning"),
    ("settings.sample", "每轮至少抽检", "Sampled each round, at least"),
    ("settings.days", "天", "days"),
    ("settings.media", "介质与迁移", "Media and migration"),
    ("settings.plan_media", "规划使用的介质", "Media planned onto"),
    ("settings.reserve", "每张光盘预留空间", "Space kept free on each disc"),
    ("settings.obsolete", "不再保存的介质", "Media no longer kept"),
    ("settings.target", "迁移到的介质", "Media migrated onto"),
    ("settings.server", "服务器", "Server"),
    ("settings.roots", "可访问的服务器目录", "Server folders requests may name"),
    ("settings.workers", "任务工作线程", "Task workers"),
    ("settings.watched", "监视的交接目录", "Watched folders"),
    ("settings.none", "无", "none"),
    ("settings.role.sealed", "封存", "sealed"),
    ("settings.role.access", "利用", "access"),
    ("settings.role.offsite", "异地", "off-site"),
    (
        "settings.how",
        "保存策略由管理员在本页修改；其余设置在服务器上的配置文件中修改，服务器重启后生效。",
        "An admin changes the preservation policy on this page; the other settings are changed in the configuration file on the server, and take effect when the server restarts.",
    ),
    (
        "settings.source.catalog",
        "此策略保存在目录库中，所有工作站共用。",
        "This policy is kept in the catalog, the same for every station.",
    ),
    (
        "settings.source.config",
        "此策略来自本工作站的配置文件 discvault.toml。",
        "This policy is this station's, from its discvault.toml.",
    ),
    ("settings.change", "修改总体规则", "Change the general rule"),
    ("settings.action", "操作", "Change"),
    (
        "settings.one_collection",
        "为某一类别单独规定（可不填）",
        "A rule of one collection's own (optional)",
    ),
    (
        "settings.collection_hint",
        "填写类别名称；已有单独规定的类别会被改写。",
        "A collection's name; a rule it has already is replaced.",
    ),
    ("settings.save", "保存到目录库", "Keep in the catalog"),
    ("settings.saved", "保存策略已修改。", "The preservation policy is changed."),
    ("settings.failed", "无法保存：", "Cannot keep it:"),
    ("settings.general_again", "改用总体规则", "Follow the general rule"),
    // The kinds of error the server and the library refuse with; their message follows.
    ("error.kind.invalid", "所给内容不合要求：", "refused:"),
    ("error.kind.not_found", "找不到：", "not found:"),
    ("error.kind.busy", "正被其他操作占用：", "busy:"),
    ("error.kind.conflict", "与已有记录冲突：", "conflict:"),
    ("error.kind.catalog", "目录库出错：", "catalog error:"),
    ("error.kind.io", "读写文件出错：", "file error:"),
    ("error.kind.no_space", "空间不足：", "not enough space:"),
    ("error.kind.forbidden", "无权执行：", "not allowed:"),
    ("error.kind.volume", "卷出错：", "volume error:"),
    ("error.kind.config", "配置有误：", "configuration error:"),
    ("error.kind.publisher", "刻录设备出错：", "disc publisher error:"),
    ("error.kind.image", "镜像出错：", "image error:"),
    ("error.kind.bad_rows", "文件中有不合要求的行：", "rows refused:"),
    ("error.kind.source", "原始文件出错：", "source error:"),
    ("error.kind.source_changed", "原始文件已变化：", "the source changed:"),
    ("error.kind.cancelled", "已取消：", "cancelled:"),
    ("error.kind.restore", "恢复出错：", "restore error:"),
    ("error.kind.foreign_disc", "不是本档案库的光盘：", "a disc of another vault:"),
    ("error.kind.no_vault", "没有档案库：", "no vault:"),
    (
        "settings.copies_range",
        "可信副本数应为 1 至 99。",
        "Trusted copies: 1 to 99.",
    ),
    (
        "settings.too_many_sites",
        "馆址数不能多于可信副本数。",
        "No more sites than trusted copies.",
    ),
    ("settings.reset", "恢复为配置文件中的策略", "Back to the configuration file's policy"),
    (
        "settings.reset_hint",
        "之后每个工作站按各自的 discvault.toml 执行。",
        "Each station then follows its own discvault.toml.",
    ),
    ("settings.field.min_copies", "每卷至少可信副本数", "Trusted copies each volume needs"),
    ("settings.field.min_sites", "副本至少分布的馆址数", "Sites the copies are kept in"),
    ("settings.field.coll_copies", "该类别的可信副本数", "The collection's trusted copies"),
    ("settings.field.coll_sites", "该类别的馆址数", "The collection's sites"),
    ("reports.title", "报表", "Reports"),
    ("reports.download", "下载完整报表：", "The whole report:"),
    ("reports.overdue", "逾期未检测的副本", "Copies overdue for inspection"),
    ("reports.to_migrate", "待修复或迁移的副本", "Copies to repair or migrate"),
    ("reports.holdings", "按年度刻录的馆藏", "Holdings written to disc, by year"),
    (
        "reports.holdings_chart",
        "每年制作镜像的数据量（卷数）",
        "Bytes mastered each year (volumes)",
    ),
    ("reports.volumes", "卷", "volumes"),
    (
        "reports.records_year",
        "已刻录馆藏按档案年度",
        "Holdings on disc, by the records' year",
    ),
    (
        "reports.records_year_chart",
        "各年度档案已制盘的数据量（文件数）",
        "Bytes on disc of each year's records (files)",
    ),
    ("reports.no_year", "未著录年度", "No year given"),
    ("reports.checks", "按年度的读回检测结果", "Read-back results by year"),
    ("reports.checks_chart", "每年读回检测次数", "Read-back checks each year"),
    ("reports.passed", "通过", "passed"),
    ("reports.failed", "未通过", "failed"),
    ("reports.quality", "按年度的光盘质量等级", "Disc quality grades by year"),
    ("reports.year", "年度", "Year"),
    ("reports.batches", "各批次光盘的状况", "Health of each disc batch"),
    ("reports.batch", "介质 · 品牌 · 批次", "Medium · brand · batch"),
    ("reports.ungraded", "未分级", "Ungraded"),
    ("reports.damaged", "损坏", "Damaged"),
    ("reports.nothing", "尚无记录。", "Nothing recorded yet."),
    ("grade.good", "良好", "Good"),
    ("grade.watch", "需关注", "Watch"),
    ("grade.act_now", "需立即处理", "Act now"),
    ("stock.title", "盘点导入", "Stocktaking"),
    ("stock.file", "盘点文件（CSV）", "Stocktaking file (CSV)"),
    (
        "stock.hint",
        "列：barcode、cabinet、shelf、slot（UTF-8 或 GBK）。先预览，确认后才更改目录。",
        "Columns barcode, cabinet, shelf, slot (UTF-8 or GBK). Previewed first; the catalog changes only when you apply it.",
    ),
    ("stock.preview", "预览变更", "Preview the changes"),
    ("stock.apply", "应用这些变更", "Apply these changes"),
    ("stock.compared", "预览（尚未更改）：", "Preview (nothing changed yet):"),
    ("stock.applied", "已应用：", "Applied:"),
    ("stock.rows", "行", "rows"),
    ("stock.matched", "与目录一致", "as the catalog has them"),
    ("stock.agrees", "盘点结果与目录完全一致。", "The stocktaking agrees with the catalog."),
    ("stock.moved", "位置不同（将移到盘点位置）", "Found elsewhere (moved to where they were seen)"),
    ("stock.missing", "未见到（将标记为丢失）", "Not seen (marked missing)"),
    ("stock.found_again", "找回（丢失后又见到）", "Found again (were missing)"),
    ("stock.expected", "目录中的位置", "Place in the catalog"),
    ("stock.seen", "盘点所见位置", "Place seen"),
    ("stock.failed", "无法导入：", "Cannot import it:"),
    ("stock.no_file", "请选择盘点文件。", "Choose a stocktaking file."),
    ("copy.trusted", "可信", "trusted"),
    ("copy.not_trusted", "不可信", "not trusted"),
    ("nav.tasks", "任务", "Jobs"),
    ("nav.volumes", "卷与刻录", "Volumes"),
    ("nav.labels", "标签", "Labels"),
    ("users.title", "用户与令牌", "Users and tokens"),
    ("users.name", "用户名", "User"),
    ("users.role", "角色", "Role"),
    ("users.status", "状态", "Status"),
    ("users.actions", "操作", "Actions"),
    ("users.disabled", "已停用", "disabled"),
    ("users.active", "可用", "active"),
    ("users.has_password", "（可登录网页）", "(may log in here)"),
    ("users.disable", "停用", "Disable"),
    ("users.enable", "启用", "Enable"),
    ("users.add", "添加用户", "Add a user"),
    (
        "users.password",
        "密码（网页登录用，可不填）",
        "Password (for this site; may be left empty)",
    ),
    (
        "users.password_hint",
        "至少 8 个字符。业务系统用令牌，无需密码。",
        "At least 8 characters. Records systems use tokens and need none.",
    ),
    ("users.added", "已添加用户", "Added user"),
    ("users.tokens", "接口令牌", "API tokens"),
    ("users.token", "令牌", "Token"),
    ("users.scopes", "用途", "Scopes"),
    ("users.all_of_role", "该角色的全部权限", "all the role may"),
    ("users.revoked", "已吊销", "revoked"),
    ("users.revoke", "吊销", "Revoke"),
    ("users.make_token", "签发令牌", "Make a token"),
    (
        "users.token_once",
        "令牌只显示这一次，请立即复制保存（Authorization: Bearer …）：",
        "The token is shown this once: copy it now (Authorization: Bearer …):",
    ),
    ("users.again", "刷新列表", "Show the list again"),
    ("users.failed", "无法完成：", "Cannot do it:"),
    ("audit.title", "审计日志", "Audit log"),
    (
        "audit.check",
        "校验整条哈希链",
        "Check the whole hash chain",
    ),
    (
        "audit.premis",
        "导出 PREMIS（XML）",
        "Export as PREMIS (XML)",
    ),
    ("audit.latest", "最新事件", "Latest events"),
    ("audit.at", "时间", "When"),
    ("audit.type", "事件", "Event"),
    ("audit.agent", "执行人", "Agent"),
    ("audit.about", "对象", "About"),
    ("audit.detail", "详情", "Detail"),
    ("audit.intact", "完整", "intact"),
    (
        "audit.events",
        "个事件，哈希链完整，无改动或删除。",
        "events: the chain is whole, nothing edited or deleted.",
    ),
    (
        "audit.broken",
        "哈希链已断：有事件被改动或删除。",
        "The chain is broken: events were edited or deleted.",
    ),
    ("audit.failed", "无法校验：", "Cannot check:"),
    ("cab.title", "柜架", "Cabinets"),
    ("cab.list", "各柜", "Cabinets"),
    (
        "cab.none",
        "还没有登记位置的副本。",
        "No copy has a place yet.",
    ),
    ("cab.unplaced", "未上架", "not shelved"),
    ("cab.cabinet", "柜", "Cabinet"),
    ("cab.shelf", "层", "Shelf"),
    ("cab.slot", "格", "Slot"),
    (
        "cab.gone",
        "缺失、损坏或已退役",
        "missing, damaged or retired",
    ),
    (
        "cab.slot_labels",
        "打印本柜格位标签",
        "Print this cabinet's slot labels",
    ),
    ("cab.move_title", "移动或标记副本", "Move or mark a copy"),
    ("cab.place", "新位置", "New place"),
    (
        "cab.place_hint",
        "馆址/库房/柜/层/格，如 本馆/一号库房/柜01/1/3",
        "site/room/cabinet/shelf/slot, e.g. 本馆/一号库房/柜01/1/3",
    ),
    ("cab.move", "移动", "Move"),
    ("cab.state", "标记为", "Mark as"),
    ("cab.note", "备注", "Note"),
    ("cab.mark", "标记", "Mark"),
    ("cab.done", "已记录：", "Recorded:"),
    ("cab.failed", "无法记录：", "Cannot record it:"),
    ("copy.state.planned", "待刻录", "planned"),
    ("copy.state.written", "已刻录", "written"),
    ("copy.state.verified", "已校验", "verified"),
    ("copy.state.missing", "缺失", "missing"),
    ("copy.state.damaged", "损坏", "damaged"),
    ("copy.state.destroyed", "已销毁", "destroyed"),
    ("copy.state.retired", "已退役", "retired"),
    ("inspect.title", "检测", "Inspection round"),
    ("inspect.at", "按此日期计算到期", "Due as of"),
    (
        "inspect.due",
        "本轮应检副本（按柜架顺序）",
        "Copies to inspect, in cabinet order",
    ),
    (
        "inspect.quota",
        "每轮至少抽检：",
        "At least this many each round:",
    ),
    ("inspect.place", "位置", "Place"),
    ("inspect.barcode", "条码", "Barcode"),
    ("inspect.due_at", "到期日", "Due"),
    ("inspect.reason", "原因", "Why"),
    ("inspect.reason.overdue", "已到期", "due"),
    ("inspect.reason.warning", "质量预警", "quality warning"),
    ("inspect.reason.sample", "抽检", "sample"),
    ("inspect.scan", "扫码确认光盘", "Scan the disc in hand"),
    (
        "inspect.code",
        "条码、RFID 或副本号",
        "Barcode, RFID tag or copy",
    ),
    ("inspect.confirm", "确认", "Confirm"),
    ("inspect.in_hand", "手中的光盘：", "In hand:"),
    (
        "inspect.source",
        "回读所用光驱或镜像（服务器上）",
        "Drive or image to read it from (on the server)",
    ),
    (
        "inspect.source_hint",
        "如 /dev/sr0，或配置目录内的镜像：",
        "e.g. /dev/sr0, or an image inside:",
    ),
    (
        "inspect.verify",
        "回读检测并记录结果",
        "Read it back and record the result",
    ),
    (
        "inspect.queued",
        "检测任务已提交：",
        "The read-back is queued as task",
    ),
    ("inspect.failed", "无法检测：", "Cannot inspect:"),
    ("labels.title", "标签", "Labels"),
    (
        "labels.key",
        "卷号、副本号或条码（柜架标签填柜号）",
        "Volume, copy or barcode (a cabinet for slot labels)",
    ),
    (
        "labels.key_hint",
        "默认为最新制成的卷。",
        "The newest mastered volume when empty.",
    ),
    ("labels.kind", "标签种类", "Kind"),
    ("labels.face", "盘面", "Disc face"),
    ("labels.spine", "盒脊", "Case spine"),
    ("labels.slots", "柜架格位", "Cabinet slots"),
    ("labels.template", "模板", "Template"),
    (
        "labels.template_hint",
        "本馆自制模板在 discvault.toml 的 [[label.templates]] 中登记。",
        "Templates of one's own are listed in discvault.toml under [[label.templates]].",
    ),
    (
        "labels.tpl.face.standard",
        "标准：著录项、目录、二维码、缩略图、条码",
        "Standard: metadata, tree, QR code, thumbnails, barcode",
    ),
    (
        "labels.tpl.face.tree",
        "目录：著录项与最多 13 行目录、条码",
        "Tree: metadata, up to 13 lines of the tree, barcode",
    ),
    (
        "labels.tpl.face.plain",
        "简洁：大字与条码（单色打印机）",
        "Plain: large text and barcode (one-colour printers)",
    ),
    (
        "labels.tpl.spine.standard",
        "标准：10 mm 光盘盒",
        "Standard: 10 mm jewel case",
    ),
    (
        "labels.tpl.spine.slim",
        "薄盒：5 mm 光盘盒",
        "Slim: 5 mm slim case",
    ),
    (
        "labels.tpl.slot.standard",
        "标准：66 × 33 mm，A4 每页 24 张",
        "Standard: 66 × 33 mm, 24 on an A4 sheet",
    ),
    (
        "labels.tpl.slot.small",
        "小号：48.5 × 25.4 mm，A4 每页 44 张",
        "Small: 48.5 × 25.4 mm, 44 on an A4 sheet",
    ),
    ("labels.show", "显示", "Show"),
    ("labels.pdf", "下载 PDF（打印）", "Download PDF (to print)"),
    ("labels.png", "下载 PNG", "Download PNG"),
    ("labels.failed", "无法显示：", "Cannot show it:"),
    ("volumes.title", "卷与刻录", "Volumes and publishing"),
    (
        "volumes.planned",
        "待制作镜像的卷",
        "Planned volumes to master",
    ),
    (
        "volumes.out",
        "镜像写入服务器上的文件夹",
        "Folder on the server for the images",
    ),
    ("volumes.master", "制作镜像", "Master them"),
    (
        "volumes.short",
        "副本不足、待刻录的卷",
        "Volumes short of copies, to publish",
    ),
    ("volumes.volume", "卷", "Volume"),
    ("volumes.trusted", "可信副本 / 应有", "Trusted / required"),
    ("volumes.problems", "问题", "Problems"),
    (
        "volumes.lacks_copies",
        "可信副本 {n} 份，应有 {m} 份",
        "{n} trusted copies of {m} required",
    ),
    (
        "volumes.lacks_sites",
        "可信副本分布于 {n} 处，应有 {m} 处",
        "trusted copies in {n} sites of {m} required",
    ),
    ("volumes.and", "；", "; "),
    ("volumes.which", "刻录哪些卷", "Volumes to publish"),
    ("volumes.target", "刻录到", "Publish to"),
    (
        "volumes.to_images",
        "镜像文件（文件夹）",
        "Image files (a folder)",
    ),
    (
        "volumes.to_tdbridge",
        "爱普生光盘打印刻录机（TD Bridge 热文件夹）",
        "Epson disc publisher (TD Bridge hot folder)",
    ),
    (
        "volumes.to_ptburn",
        "派美雅光盘刻录机（PTBurn 热文件夹）",
        "Primera disc publisher (PTBurn hot folder)",
    ),
    (
        "volumes.to_drive",
        "光驱（xorriso 设备）",
        "A drive (xorriso device)",
    ),
    ("volumes.where", "文件夹或设备", "Folder or device"),
    (
        "volumes.where_hint",
        "服务器上的路径，须在配置的目录之内。",
        "A path on the server, inside the configured roots.",
    ),
    ("volumes.copies", "每卷份数", "Copies per volume"),
    (
        "volumes.copies_hint",
        "留空则按配置的副本角色。",
        "Empty: one per configured role.",
    ),
    ("volumes.publish", "刻录", "Publish"),
    ("volumes.queued", "任务已提交：", "Queued as task"),
    ("volumes.failed", "无法提交：", "Cannot do it:"),
    ("ingest.title", "接收", "Ingest"),
    (
        "ingest.intro",
        "将服务器上的文件夹或本机的文件接收入库：逐个计算摘要并记入目录。",
        "Add a folder on the server, or files from this computer: every file is hashed and recorded in the catalog.",
    ),
    ("ingest.folder", "服务器上的文件夹", "Folder on the server"),
    ("ingest.roots", "须在以下目录之内：", "Inside one of:"),
    (
        "ingest.no_roots",
        "（未配置 [server] roots，无法接收服务器上的文件夹）",
        "(no [server] roots are configured: no server folder can be added)",
    ),
    ("ingest.collection", "类别（档案门类）", "Collection"),
    ("ingest.metadata", "著录项", "Metadata"),
    ("ingest.fonds", "全宗号", "Fonds (全宗号)"),
    ("ingest.year", "年度", "Year (年度)"),
    ("ingest.retention", "保管期限", "Retention (保管期限)"),
    ("ingest.classification", "密级", "Classification (密级)"),
    ("ingest.more", "其他著录项", "Other keys"),
    (
        "ingest.more_hint",
        "每行一项：键=值",
        "One a line: KEY=VALUE",
    ),
    ("ingest.submit", "接收", "Add"),
    (
        "ingest.queued",
        "接收任务已提交：",
        "The add is queued as task",
    ),
    ("ingest.failed", "无法接收：", "Cannot add:"),
    (
        "ingest.nothing_chosen",
        "请填写服务器上的文件夹，或选择本机的文件。",
        "Give a folder on the server, or choose files on this computer.",
    ),
    ("ingest.or_upload", "或从本机上传", "Or upload from this computer"),
    ("ingest.upload_files", "文件", "Files"),
    ("ingest.upload_folder", "文件夹", "A folder"),
    (
        "ingest.upload_hint",
        "先在本机计算每个文件的 SHA-256，服务器收到后逐一核对；中断后可续传。",
        "Each file is hashed (SHA-256) here first and checked by the server on arrival; a broken-off upload resumes.",
    ),
    ("ingest.hashing", "正在计算摘要", "Hashing"),
    ("ingest.sending", "正在上传", "Sending"),
    ("ingest.committing", "正在提交接收任务", "Queuing the add"),
    ("ingest.twice", "同一路径选择了两次：", "The same path was chosen twice:"),
    (
        "ingest.session",
        "服务器的答复无法识别（会话可能已结束，请重新登录后再试）",
        "The server's answer was not understood (the session may have ended: log in again and retry)",
    ),
    ("ingest.watched", "监视文件夹", "Watched folders"),
    (
        "ingest.no_watched",
        "未配置监视文件夹（[[server.watched]]）。",
        "No watched folder is configured ([[server.watched]]).",
    ),
    ("ingest.done", "最近接收的", "Added lately"),
    ("ingest.error", "最近退回的", "Refused lately"),
    ("plan.title", "规划", "Plan"),
    (
        "plan.intro",
        "先预览未规划的文件将分装成哪些卷，确认后才记录。",
        "See the volumes the unplanned files would make; nothing is recorded until you confirm.",
    ),
    ("plan.media", "光盘类型", "Disc type"),
    (
        "plan.reserve",
        "每盘预留空间（%）",
        "Space kept free on each disc (%)",
    ),
    (
        "plan.reserve_hint",
        "留空则用配置中的值。",
        "Empty: the configured value.",
    ),
    ("plan.file_systems", "文件系统", "File systems"),
    (
        "plan.fs_default",
        "按配置（默认 ISO 9660 + UDF）",
        "As configured (default ISO 9660 + UDF)",
    ),
    (
        "plan.fs_bridge",
        "ISO 9660 + UDF：Windows、macOS 显示完整文件名",
        "ISO 9660 + UDF: full names on Windows and macOS",
    ),
    ("plan.fs_iso9660", "仅 ISO 9660", "ISO 9660 only"),
    ("plan.preview", "预览", "Preview"),
    ("plan.preview_title", "规划预览", "Preview"),
    (
        "plan.nothing",
        "没有待规划的文件。",
        "No file waits to be planned.",
    ),
    ("plan.discs", "张光盘", "discs"),
    (
        "plan.split_files",
        "个文件跨盘分段",
        "files split across discs",
    ),
    ("plan.fill", "装满程度", "Fill"),
    ("plan.what_goes", "所含文件", "What goes on it"),
    ("plan.confirm", "确认规划", "Confirm the plan"),
    (
        "plan.queued",
        "规划任务已提交：",
        "The plan is queued as task",
    ),
    ("plan.failed", "无法规划：", "Cannot plan:"),
    ("task.title", "任务", "Jobs"),
    ("task.one", "任务", "Task"),
    ("task.none", "还没有任务。", "No task yet."),
    ("task.id", "编号", "Task"),
    ("task.kind", "类型", "Kind"),
    ("task.state", "状态", "State"),
    ("task.by", "提交人", "Asked by"),
    ("task.progress", "进度", "Progress"),
    // A task's progress by its code (`discvault::progress::Message`), `{name}` its arguments.
    ("step.items", "{step}：共 {items} 项", "{step}: {items} items"),
    ("step.hashing", "正在计算摘要", "hashing"),
    ("step.restoring", "正在恢复", "restoring"),
    ("step.mastering", "正在制作镜像 {volume}", "mastering {volume}"),
    (
        "step.mastering_again",
        "正在重新制作镜像 {volume}",
        "mastering {volume} again",
    ),
    (
        "step.burning",
        "正在刻录 {copy}（{role}），第 {disc} 张盘",
        "burning {copy} ({role}), disc {disc}",
    ),
    (
        "step.following",
        "正在跟踪 {copy}（{role}）：{at}",
        "following {copy} ({role}) at {at}",
    ),
    ("step.reading", "正在读取 {from}", "reading {from}"),
    ("step.verifying", "正在校验 {volume}", "verifying {volume}"),
    (
        "step.left_to_holder",
        "{volume}：{holder} 正在处理，本任务跳过",
        "{volume}: left to {holder}, who holds it",
    ),
    (
        "step.creating_vault",
        "{path} 处没有档案库：正在新建",
        "no vault at {path}: creating a new vault there",
    ),
    ("step.publisher_says", "{job}：{detail}", "{job}: {detail}"),
    (
        "step.burning_again",
        "{copy}：{detail}；重新刻录",
        "{copy}: {detail}; burning it again",
    ),
    (
        "step.vault_busy",
        "档案库 {path} 正被占用（{holder}），等待中",
        "vault {path} is busy ({holder}); waiting for it",
    ),
    (
        "step.catalog_busy",
        "目录库正被占用（{holder}），等待中",
        "the catalog is busy ({holder}); waiting for it",
    ),
    (
        "step.busy",
        "{what} 正被占用（{holder}），等待中",
        "{what} is busy ({holder}); waiting for it",
    ),
    ("task.updated", "更新时间", "Updated"),
    ("task.error", "错误", "Error"),
    ("task.result", "结果", "Result"),
    ("task.cancel", "取消任务", "Cancel"),
    ("task.state.queued", "排队中", "queued"),
    ("task.state.running", "进行中", "running"),
    ("task.state.done", "已完成", "done"),
    ("task.state.failed", "失败", "failed"),
    ("task.state.cancelled", "已取消", "cancelled"),
    ("task.state.interrupted", "已中断", "interrupted"),
    ("task.kind.add", "接收", "add"),
    ("task.kind.plan", "规划", "plan"),
    ("task.kind.master", "制作镜像", "master"),
    ("task.kind.publish", "刻录", "publish"),
    ("task.kind.verify", "校验", "verify"),
    ("task.kind.readback", "回读", "read back"),
    ("task.kind.restore", "恢复", "restore"),
    ("task.kind.repair", "修复", "repair"),
    ("task.kind.migrate", "迁移", "migrate"),
    ("error.title", "出错了", "Something went wrong"),
    (
        "error.forbidden",
        "您的角色无权进行此操作。",
        "Your role may not do this.",
    ),
    (
        "error.not_found",
        "没有这个页面。",
        "There is no such page.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_used_is_here_once_in_both_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for (k, zh, en) in WORDS {
            assert!(seen.insert(*k), "{k} twice");
            assert!(!zh.is_empty() && !en.is_empty(), "{k}");
        }
        // Every `t("…")` in the UI's sources.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let mut missing = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            for (i, _) in text.match_indices(".t(\"") {
                let rest = &text[i + 4..];
                let key = &rest[..rest.find('"').unwrap()];
                if !seen.contains(key) {
                    missing.push(key.to_string());
                }
            }
        }
        assert!(missing.is_empty(), "keys without words: {missing:?}");
        // The names of the shipped label templates, shown by the labels page.
        for d in discvault::label::DESIGNS {
            let key = format!("labels.tpl.{}.{}", d.kind.as_str(), d.name);
            assert!(seen.contains(key.as_str()), "{key} has no words");
        }
    }

    #[test]
    fn the_language_comes_from_the_cookie_else_the_browser() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(
                    axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                );
            }
            m
        };
        assert_eq!(Lang::of(&h(&[])), Lang::Zh);
        assert_eq!(
            Lang::of(&h(&[("accept-language", "en-US,en;q=0.9")])),
            Lang::En
        );
        assert_eq!(
            Lang::of(&h(&[("accept-language", "zh-CN,zh;q=0.9,en;q=0.8")])),
            Lang::Zh
        );
        assert_eq!(
            Lang::of(&h(&[
                ("accept-language", "en-US"),
                ("cookie", "discvault_lang=zh")
            ])),
            Lang::Zh
        );
        assert_eq!(Lang::En.t("nav.search"), "Search");
        assert_eq!(Lang::Zh.t("nav.search"), "查找");
    }
}
