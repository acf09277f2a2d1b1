"""Evidence for and against a candidate key, as data (words and pattern
strings: nothing is compiled here, so the commit hook's prefilter can read
the counter words without loading :mod:`re`).

A candidate is a run of 32 hex characters (32 letters and digits beside a
CaptchaAI key name) that no line rule of :mod:`captchaai_guard.detect.rules`
settled. :mod:`captchaai_guard.detect.decide` weighs it with the lists below; each
list is data, and a new word is one entry here plus one sample in
``tests/test_evidence.py``.

Names are read as words: ``captchaaiPredefinedApiKey`` is ``captchaai``,
``predefined``, ``api``, ``key``; ``X-API-KEY`` is ``x``, ``api``, ``key``.
"""

from __future__ import annotations

# CaptchaAI named in text (lower-cased): its name with or without a
# separator, and the misspellings people commit (CAPTCHAI_KEY, CAPCHAAI).
MENTION_PATTERN = (
    r"(?m)"
    r"(?<!no)(?<!no[_-])(?:captcha[_-]?ai|captchai(?=[_.\-\s\"'=:]|$)|capchaai)"
)  # (noCaptchaAI is another service)

# Other solving services: their name in a name, on the line or around a value
# says whose key it is (a 2captcha-compatible client *called* with the key is
# still judged by the line rules).
OTHER_SOLVERS = (
    "2captcha",
    "twocaptcha",
    "anticaptcha",
    "anticapcha",
    "capmonster",
    "capsolver",
    "rucaptcha",
    "deathbycaptcha",
    "nocaptcha",
    "azcaptcha",
    "nopecha",
    "imagetyperz",
    "bestcaptcha",
    "endcaptcha",
    "captchacoder",
    "truecaptcha",
    "metabypass",
)

# Lines that are comments: their words are prose, not names.
COMMENT_STARTS = ("#", "//", "--", "/*", "*", ";", "<!--", "%", "rem ", "REM ", "'", ">")
# Files of prose.
PROSE_PATH_PATTERN = (
    r"(?i)"
    r"\.(?:md|markdown|rst|txt|adoc|org|textile|wiki)$"
)

# Words of a name that make it a key's name.
KEY_WORDS = frozenset(
    {
        "key",
        "keys",
        "apikey",
        "apikeys",
        "token",
        "tokens",
        "auth",
        "credential",
        "credentials",
        "creds",
        "clientkey",
    }
)

# Words that qualify a key's name without naming another service: a name
# made only of these, key words and CaptchaAI's or a solver's name is a
# CaptchaAI key's name in a file that talks to CaptchaAI (``RESERVE``,
# ``KEYS_BY_ACCOUNT``, ``fallback``, ``SOLVER_KEY``, ``X-Api-Key``).
ROLE_WORDS = frozenset(
    {
        "api",
        "x",
        "client",
        "solver",
        "solvers",
        "captcha",
        "captchas",
        "ai",
        "ocr",
        "2captcha",
        "twocaptcha",
        "two",
        "anticaptcha",
        "anti",
        "rucaptcha",
        "capmonster",
        "reserve",
        "reserved",
        "backup",
        "fallback",
        "default",
        "primary",
        "secondary",
        "main",
        "prod",
        "production",
        "dev",
        "development",
        "staging",
        "test",
        "my",
        "old",
        "new",
        "spare",
        "predefined",
        "master",
        "account",
        "accounts",
        "current",
        "active",
        "user",
        "by",
        "bearer",
        "access",
        "private",
        "service",
        "app",
        "live",
        "real",
        "cfg",
        "config",
        "conf",
        "settings",
        "options",
        "opts",
        "env",
        "self",
        "this",
        "other",
        "another",
        "second",
        "third",
        "extra",
        "alt",
        "alternate",
        "bytes",
        "raw",
        "hex",
        "literal",
        "pool",
        "list",
        "keyring",
        "rotation",
        "rotate",
        "next",
        "prev",
        "previous",
        "region",
        "regions",
        "eu",
        "us",
        "night",
        "day",
        "shift",
        "reseller",
        "team",
        "shared",
        "personal",
        "global",
        "local",
    }
)

# Words of a value's own name that say it is not a key.
COUNTER_WORDS = frozenset(
    {
        # hashes and checksums
        "md4",
        "md5",
        "sha",
        "sha1",
        "sha224",
        "sha256",
        "sha384",
        "sha512",
        "crc",
        "crc32",
        "digest",
        "checksum",
        "checksums",
        "hash",
        "hashes",
        "hashed",
        "etag",
        "integrity",
        "fingerprint",
        "thumbprint",
        "signature",
        "hmac",
        # identifiers
        "uuid",
        "guid",
        "id",
        "ids",
        "uid",
        "oid",
        "trace",
        "traceid",
        "span",
        "spanid",
        "request",
        "requestid",
        "correlation",
        "session",
        "sessionid",
        "sid",
        "csrf",
        "xsrf",
        "nonce",
        "salt",
        "iv",
        "commit",
        "revision",
        "rev",
        "build",
        "version",
        "cache",
        "cachekey",
        "public",
        "publickey",
        # captcha parameters that are not the solver's key
        "sitekey",
        "site",
        "websitekey",
        "googlekey",
        "gt",
        "challenge",
        "captchaid",
        "task",
        "taskid",
    }
)

# The counter words that make a whole block (``checksums:``, ``SITEKEYS = {``)
# a block of values that are not keys.
BLOCK_COUNTER_WORDS = frozenset(
    {
        "md5",
        "sha",
        "sha1",
        "sha256",
        "sha512",
        "digest",
        "checksum",
        "checksums",
        "hash",
        "hashes",
        "etag",
        "integrity",
        "fingerprint",
        "uuid",
        "guid",
        "ids",
        "sitekey",
        "googlekey",
        "challenge",
        "nonce",
        "salt",
        "cache",
        "trace",
        "span",
        "session",
    }
)

# Other services whose keys have the same shape: their name on the value's
# own name says whose key it is (unless CaptchaAI is named there too).
# (Not Google: its keys are never 32 hex, and the reCAPTCHA demo page
# www.google.com/recaptcha/... is the page URL sent beside many CaptchaAI keys.)
VENDOR_WORDS = frozenset(
    {
        "tmdb",
        "themoviedb",
        "moviedb",
        "omdb",
        "openweather",
        "openweathermap",
        "owm",
        "weather",
        "mailgun",
        "datadog",
        "dd",
        "mixpanel",
        "pusher",
        "algolia",
        "sendgrid",
        "newrelic",
        "amplitude",
        "bugsnag",
        "rollbar",
        "sentry",
        "stripe",
        "twilio",
        "facebook",
        "youtube",
        "firebase",
        "github",
        "gitlab",
        "slack",
        "discord",
        "telegram",
        "aws",
        "azure",
        "openai",
        "shopify",
        "spotify",
        "imgur",
        "giphy",
        "newsapi",
        "alphavantage",
        "coinmarketcap",
        "etherscan",
        "infura",
        "mapbox",
        "unsplash",
        "pexels",
        "pixabay",
        "lastfm",
        "steam",
        "twitch",
        "virustotal",
        "shodan",
        "ipinfo",
        "ipstack",
        "rapidapi",
        "yelp",
        "hubspot",
        "mailchimp",
        "postmark",
        "optimizely",
        "launchdarkly",
        "intercom",
        "zendesk",
        "analytics",
        "redis",
        "proxy",
        "smtp",
        "mail",
        "email",
        "db",
        "database",
        "datasource",
        "postgres",
        "postgresql",
        "mysql",
        "mongo",
        "mongodb",
        "jwt",
        "oauth",
        "s3",
        "kv",
        "django",
        "flask",
        "rails",
        "appid",
    }
)

# Services whose name a file is named for without holding their keys
# (azure-pipelines.yml, .gitlab-ci.yml, docker-compose.aws.yml).
PLATFORM_WORDS = frozenset(
    {
        "azure",
        "github",
        "gitlab",
        "aws",
        "google",
        "firebase",
        "slack",
        "discord",
        "telegram",
        "steam",
        "django",
        "flask",
        "rails",
        "db",
        "database",
        "mail",
        "email",
        "proxy",
        "redis",
        "kv",
        "s3",
    }
)

# Words a name is made of that say nothing (``value="..."``, ``const``): the
# name before them is the value's own name.
TRANSPARENT_WORDS = frozenset(
    {
        "value",
        "content",
        "val",
        "default",
        "data",
        "string",
        "str",
        "new",
        "const",
        "let",
        "var",
        "static",
        "readonly",
        "final",
        "private",
        "protected",
        "internal",
        "export",
        "set",
        "setx",
        "env",
        "environ",
        "getenv",
        "get",
        "fetch",
        "or",
        "return",
        "b",
        "r",
        "f",
        "u",
        "rb",
        "br",
        "fr",
        "rf",
        # prose before a value
        "is",
        "was",
        "are",
        "were",
        "be",
        "the",
        "a",
        "an",
        "to",
        "of",
        "for",
        "use",
        "used",
        "using",
        "with",
        "as",
        "and",
        "it",
        "here",
        "this",
        "that",
        "until",
        "in",
        "on",
        "try",
        "put",
    }
)

# Values published as examples (SDK and API documentation) and well-known
# test vectors (digests of "", "a", "abc", "password" ...): never a key.
DOCUMENTED_VALUES = frozenset(
    {
        "1abc234de56fab7c89012d34e56fa7b8",  # 2captcha's documentation
        "1a2b3c4d5e6f7890abcdef1234567890",  # CaptchaAI's documentation
        "d41d8cd98f00b204e9800998ecf8427e",  # md5("")
        "0cc175b9c0f1b6a831c399e269772661",  # md5("a")
        "900150983cd24fb0d6963f7d28e17f72",  # md5("abc")
        "f96b697d7cb7938d525a2f31aaf161d0",  # md5("message digest")
        "c3fcd3d76192e4007dfb496cca67e13b",  # md5("a".."z")
        "9e107d9d372bb6826bd81d3542a419d6",  # md5 of the quick brown fox
        "5f4dcc3b5aa765d61d8327deb882cf99",  # md5("password")
        "5d41402abc4b2a76b9719d911017c592",  # md5("hello")
        "5eb63bbbe01eeed093cb22bb8f5acdc3",  # md5("hello world")
        "098f6bcd4621d373cade4e832627b4f6",  # md5("test")
        "e10adc3949ba59abbe56e057f20f883e",  # md5("123456")
        "31d6cfe0d16ae931b73c59d7e0c089c0",  # md4("") / NTLM("")
    }
)

# Files whose 32-hex values are checksums, object ids and GUIDs by format:
# lockfiles, checksum lists, Unity/Xcode/Visual Studio project files, source maps.
COUNTER_PATH_PATTERN = (
    r"(?i)"
    r"(?:^|/)(?:[^/]*\.lock|package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.ya?ml|go\.sum|[^/]*\.sum"
    r"|(?:sha(?:1|224|256|384|512)?|md5)sums?(?:\.txt)?|checksums?(?:\.txt|\.json)?"
    r"|[^/]*\.(?:md5|sha1|sha256|sha512|meta|pbxproj|sln|csproj|vbproj|fsproj|vcxproj|filters"
    r"|xcscheme|xcworkspacedata|resx|snap|map|asset|prefab|unity|mat|controller))$"
)

# A line that is an entry of a checksum list (``<hex>  file`` or ``<hex> *file``).
CHECKSUM_LINE_PATTERN = (
    r"^\s*(?:[0-9a-fA-F]{32}\s+\*?[^\s=:,;\"']+|(?:MD5|SHA\d*)\s*\(.*\)\s*=\s*[0-9a-fA-F]{32})\s*$"
)

# CSV-like files: the header names a cell's column.
TABLE_PATH_PATTERN = (
    r"(?i)"
    r"\.(?:csv|tsv|psv)$"
)

# Printable runs of a binary file (what ``strings`` shows), at least this long.
BINARY_RUN_PATTERN = rb"[\x20-\x7e]{4,}"
# Binary files that are images, media, archives or fonts: compressed bytes,
# no text to read.
QUIET_BINARY_PATH_PATTERN = (
    r"(?i)"
    r"\.(?:png|jpe?g|gif|bmp|ico|webp|tiff?|psd|mp[34]|m4a|wav|ogg|flac|avi|mov|mkv|webm"
    r"|zip|gz|tgz|bz2|xz|7z|rar|jar|war|whl|egg|apk|ipa|woff2?|ttf|otf|eot|pdf)$"
)
