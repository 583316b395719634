# SPDX-License-Identifier: GPL-2.0-or-later
#
# Flattens one JSON document into lines "PATH<TAB>VALUE", one per scalar:
#   {"a":{"b":[1,"x"]}}  ->  .a.b[0]<TAB>1  and  .a.b[1]<TAB>x
# Strings are unescaped (\uXXXX is kept as is); true/false/null and numbers
# are printed as written.  The VM has no python3; lib.sh's json_get uses
# this.  Exits 1 on malformed input.  Works with busybox awk.

BEGIN { RS = "\001" }

{ doc = doc $0 }

END {
	s = doc
	n = length(s)
	i = 1
	parse_value("")
	skip_ws()
	if (i <= n)
		bad("trailing characters")
}

function bad(why) {
	print "json_flat: " why " at offset " i > "/dev/stderr"
	exit 1
}

function skip_ws() {
	while (i <= n && index(" \t\r\n", substr(s, i, 1)))
		i++
}

function parse_value(path,    c) {
	skip_ws()
	c = substr(s, i, 1)
	if (c == "{")
		parse_object(path)
	else if (c == "[")
		parse_array(path)
	else if (c == "\"")
		print path "\t" parse_string()
	else if (c ~ /[-0-9tfn]/)
		print path "\t" parse_literal()
	else
		bad("unexpected '" c "'")
}

function parse_literal(    lit) {
	lit = ""
	while (i <= n && substr(s, i, 1) ~ /[-+.0-9A-Za-z]/) {
		lit = lit substr(s, i, 1)
		i++
	}
	if (lit !~ /^(true|false|null|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$/)
		bad("bad literal '" lit "'")
	return lit
}

function parse_object(path,    key, c) {
	i++
	skip_ws()
	if (substr(s, i, 1) == "}") {
		i++
		return
	}
	for (;;) {
		skip_ws()
		if (substr(s, i, 1) != "\"")
			bad("expected a key")
		key = parse_string()
		skip_ws()
		if (substr(s, i, 1) != ":")
			bad("expected ':'")
		i++
		parse_value(path "." key)
		skip_ws()
		c = substr(s, i, 1)
		i++
		if (c == "}")
			return
		if (c != ",")
			bad("expected ',' or '}'")
	}
}

function parse_array(path,    k, c) {
	i++
	skip_ws()
	if (substr(s, i, 1) == "]") {
		i++
		return
	}
	for (k = 0; ; k++) {
		parse_value(path "[" k "]")
		skip_ws()
		c = substr(s, i, 1)
		i++
		if (c == "]")
			return
		if (c != ",")
			bad("expected ',' or ']'")
	}
}

function parse_string(    out, c) {
	i++
	out = ""
	while (i <= n) {
		c = substr(s, i, 1)
		if (c == "\"") {
			i++
			return out
		}
		if (c == "\\") {
			i++
			c = substr(s, i, 1)
			if (c == "n")
				c = "\n"
			else if (c == "t")
				c = "\t"
			else if (c == "r")
				c = "\r"
			else if (c == "b" || c == "f")
				c = ""
			else if (c == "u") {
				c = "\\u" substr(s, i + 1, 4)
				i += 4
			}
		}
		out = out c
		i++
	}
	bad("unterminated string")
}
