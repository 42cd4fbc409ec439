"""The languages the code engine reads: which tree-sitter grammar, which nodes are functions (whose
bodies may be elided), which are data literals, how a comment is written, and how to tell a language
from a file name or, failing that, from the text itself."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Node types shared by many grammars: a function-like node elsewhere named differently is listed per language.
_C_LIKE_LITERALS = frozenset({"initializer_list"})


@dataclass(frozen=True)
class Language:
    name: str  # our name, e.g. "python", "typescript"
    grammar: str  # tree-sitter-languages' name
    comment: str  # how a line comment starts: a marker line outside strings is written as one
    functions: frozenset[str]  # nodes with a body that may be elided
    literals: frozenset[str]  # data literals whose inside may be elided when long (a table, a dict)
    doc_prefixes: tuple[str, ...] = ()  # comments that are documentation whatever precedes them
    body_end_keyword: bool = False  # Ruby: a body ends at an `end` line, not at a brace
    preprocessor: bool = False  # C, C++: #if blocks may split what the grammar reads


PYTHON = Language("python", "python", "#", frozenset({"function_definition"}),
                  frozenset({"list", "dictionary", "set", "tuple"}), ("#:",))
JAVASCRIPT = Language(
    "javascript", "javascript", "//",
    frozenset({"function_declaration", "generator_function_declaration", "function", "function_expression",
               "generator_function", "arrow_function", "method_definition"}),
    frozenset({"array", "object"}), ("/**", "/*!", "///"))
TYPESCRIPT = Language("typescript", "typescript", "//", JAVASCRIPT.functions, JAVASCRIPT.literals,
                      JAVASCRIPT.doc_prefixes)
TSX = Language("tsx", "tsx", "//", JAVASCRIPT.functions, JAVASCRIPT.literals, JAVASCRIPT.doc_prefixes)
GO = Language("go", "go", "//", frozenset({"function_declaration", "method_declaration", "func_literal"}),
              frozenset({"literal_value"}), ())
RUST = Language("rust", "rust", "//", frozenset({"function_item", "macro_definition"}),
                frozenset({"array_expression"}), ("///", "//!", "/**", "/*!"))
JAVA = Language("java", "java", "//",
                frozenset({"method_declaration", "constructor_declaration", "compact_constructor_declaration",
                           "static_initializer"}),
                frozenset({"array_initializer"}), ("/**",))
C = Language("c", "c", "//", frozenset({"function_definition"}), _C_LIKE_LITERALS, ("/**", "/*!", "///", "//!"),
             preprocessor=True)
CPP = Language("cpp", "cpp", "//", frozenset({"function_definition"}), _C_LIKE_LITERALS, C.doc_prefixes,
               preprocessor=True)
CSHARP = Language("csharp", "c_sharp", "//",
                  frozenset({"method_declaration", "constructor_declaration", "destructor_declaration",
                             "operator_declaration", "conversion_operator_declaration", "local_function_statement",
                             "accessor_declaration"}),
                  frozenset({"initializer_expression"}), ("///", "/**"))
RUBY = Language("ruby", "ruby", "#", frozenset({"method", "singleton_method"}), frozenset({"array", "hash"}),
                (), body_end_keyword=True)
PHP = Language("php", "php", "//", frozenset({"function_definition", "method_declaration"}),
               frozenset({"array_creation_expression"}), ("/**",))

LANGUAGES = {lang.name: lang for lang in (PYTHON, JAVASCRIPT, TYPESCRIPT, TSX, GO, RUST, JAVA, C, CPP, CSHARP, RUBY, PHP)}

EXTENSIONS = {
    ".py": PYTHON, ".pyi": PYTHON, ".pyw": PYTHON,
    ".js": JAVASCRIPT, ".jsx": JAVASCRIPT, ".mjs": JAVASCRIPT, ".cjs": JAVASCRIPT,
    ".ts": TYPESCRIPT, ".mts": TYPESCRIPT, ".cts": TYPESCRIPT, ".tsx": TSX,
    ".go": GO, ".rs": RUST, ".java": JAVA,
    ".c": C, ".h": C,  # a .h is C until its text says C++
    ".cc": CPP, ".cpp": CPP, ".cxx": CPP, ".c++": CPP, ".hh": CPP, ".hpp": CPP, ".hxx": CPP, ".h++": CPP,
    ".ipp": CPP, ".tpp": CPP, ".inl": CPP,
    ".cs": CSHARP, ".rb": RUBY, ".rake": RUBY, ".php": PHP,
}
# Other source files: recognised as code (so no other engine rewrites them) but not parsed.
OTHER_CODE_EXTENSIONS = frozenset(
    ".kt .kts .scala .swift .m .mm .lua .sh .bash .zsh .pl .r .jl .ex .exs .erl .hs .ml .dart .vue .svelte .sql".split())

# A path in a tool's input: a Read's file_path, or the file a `cat`/`sed -n`/`head`/`nl` command prints.
_PATH = re.compile(r"""(?:^|[\s'"=])((?:[\w.~@+-]*/)*[\w.@+-]+\.[A-Za-z+]{1,5})(?=$|[\s'";|&)])""")
_PRINTERS = re.compile(r"^\s*(?:cat|head|tail|sed|nl|bat|batcat|less|more|awk|cut|view)\b")


def path_in(tool_input: str | None) -> str | None:
    """The source file a tool's input names: the input itself when it is a path, else the last file
    argument of a command that prints a file (``cat``, ``sed -n``, ``head``, ``nl`` …)."""
    value = (tool_input or "").strip()
    if not value:
        return None
    if "\n" not in value and " " not in value:
        return value
    if not _PRINTERS.match(value):
        return None
    found = _PATH.findall(value.split("|")[0])
    return found[-1] if found else None


def by_path(path: str | None) -> Language | None:
    ext = _extension(path)
    return EXTENSIONS.get(ext) if ext else None


def is_code_path(path: str | None) -> bool:
    ext = _extension(path)
    return bool(ext) and (ext in EXTENSIONS or ext in OTHER_CODE_EXTENSIONS)


def _extension(path: str | None) -> str | None:
    if not path:
        return None
    name = path.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return "." + name.rsplit(".", 1)[1] if "." in name else None


# Telling lines, each pointing at one language; counted over the text to rank the grammars worth trying.
_CLUES: tuple[tuple[Language, re.Pattern[str]], ...] = tuple(
    (lang, re.compile(pattern, re.M)) for lang, pattern in (
        (PYTHON, r"^\s*(?:async\s+def|def)\s+\w+\s*\(.*:\s*$|^\s*(?:from\s+[\w.]+\s+import|import\s+[\w.]+(?:\s+as\s+\w+)?)\s*$"
                 r"|^\s*class\s+\w+(?:\(.*\))?:\s*$|^\s*(?:elif|except|finally)\b.*:\s*$|^\s*@\w[\w.]*(?:\(.*\))?\s*$"),
        (JAVASCRIPT, r"^\s*(?:export\s+(?:default\s+)?)?(?:async\s+)?function\b|\brequire\(['\"]|^\s*module\.exports\b"
                     r"|^\s*(?:const|let|var)\s+\w+\s*=\s*(?:async\s+)?(?:function\b|\(.*\)\s*=>)|^\s*import\s+.*\s+from\s+['\"]"),
        (TYPESCRIPT, r"^\s*(?:export\s+)?(?:interface|type|enum|namespace|declare)\s+\w+|^\s*(?:public|private|protected|readonly)\s+\w+"
                     r"|\)\s*:\s*(?:void|string|number|boolean|Promise<|[A-Z]\w*(?:<.*>)?)\s*[{;]\s*$|:\s*(?:string|number|boolean)\s*[;,)=]"),
        (GO, r"^package\s+\w+\s*$|^func\s+(?:\(.*?\)\s*)?\w+\s*\(|^\s*\w+\s*:=\s|^import\s+\($|^type\s+\w+\s+(?:struct|interface)\s*\{"),
        (RUST, r"^\s*(?:pub(?:\(\w+\))?\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+\w+|^\s*use\s+[\w:]+(?:::\{.*\})?;|^\s*impl\b.*\{\s*$"
               r"|^\s*#!?\[\w+|^\s*let\s+(?:mut\s+)?\w+|^\s*(?:pub\s+)?(?:struct|enum|trait|mod)\s+\w+"),
        (JAVA, r"^\s*package\s+[\w.]+;|^\s*import\s+(?:static\s+)?[\w.]+(?:\.\*)?;\s*$"
               r"|^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:class|interface|enum|record)\s+\w+"
               r"|^\s*@Override\b|^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?[\w<>\[\],\s]+\s+\w+\s*\("),
        (C, r"^\s*#\s*(?:include|define|ifn?def|endif|if|pragma)\b|^\s*(?:static\s+)?(?:const\s+)?(?:void|int|char|long|unsigned|size_t|struct\s+\w+)\s*\**\s*\w+\s*\("
            r"|^\s*typedef\s+(?:struct|enum|union)\b|\bNULL\b|->\w+"),
        (CPP, r"^\s*(?:template\s*<|namespace\s+\w*\s*\{|class\s+\w+[^;]*\{?\s*$|using\s+namespace\b|(?:public|private|protected):\s*$)"
              r"|\bstd::|::\w+\s*\(|\bconstexpr\b|\bnullptr\b"),
        (CSHARP, r"^\s*using\s+System\b|^\s*namespace\s+[\w.]+\s*[;{]?\s*$|^\s*(?:public|internal|private)\s+(?:sealed\s+|static\s+|partial\s+)*class\b"
                 r"|\{\s*get;\s*(?:set;)?\s*\}"),
        (RUBY, r"^\s*(?:def\s+(?:self\.)?\w+[?!=]?(?:\(.*\))?\s*$|end\s*$|require(?:_relative)?\s+['\"]|module\s+[A-Z]\w*\s*$|attr_(?:reader|accessor)\b)"),
        (PHP, r"^<\?php|^\s*(?:public|private|protected)\s+(?:static\s+)?function\b|\$this->|^\s*namespace\s+[\w\\]+;|^\s*use\s+[\w\\]+;"),
    ))
_CLUE_SAMPLE = 8_000  # characters looked at: enough lines to tell, few enough to be quick


def ranked(text: str) -> list[Language]:
    """Languages the text may be in, likeliest first (only those with some clue)."""
    sample = text[:_CLUE_SAMPLE]
    scores = {}
    for lang, pattern in _CLUES:
        hits = sum(1 for _ in pattern.finditer(sample))
        if hits:
            scores[lang.name] = scores.get(lang.name, 0) + hits
    # A superset grammar is worth a try after its base: TypeScript reads most JavaScript; C++ most C.
    if "typescript" in scores and "javascript" in scores:
        scores["typescript"] += scores["javascript"]
    if "cpp" in scores and "c" in scores:
        scores["cpp"] += scores["c"] // 2
    order = sorted(scores, key=lambda name: (-scores[name], name))
    return [LANGUAGES[name] for name in order]


def refine(lang: Language, text: str) -> Language:
    """A .h that is C++, a .js that is TypeScript-free JSX: the text's own say over the extension's."""
    if lang is C and re.search(r"^\s*(?:template\s*<|namespace\s+\w+\s*\{|class\s+\w+\s*(?::[^;]*)?\{|(?:public|private|protected):\s*$)"
                               r"|\bstd::", text[:_CLUE_SAMPLE], re.M):
        return CPP
    return lang
