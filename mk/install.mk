# SPDX-License-Identifier: MIT
# mk/install.mk: make install, the man pages (generated from docs/*.md by
# scripts/md2man.py) and their lint, cross builds. Included by the Makefile.
#   make install [DESTDIR=/stage] [PREFIX=/usr/local] [PROFILE=router]
#   installs BINDIR/mtool and a relative symbolic link per applet of that build, the man
#   pages (an applet's only when the build has it), DATADIR/mtool.conf.example, and
#   SYSCONFDIR/mtool.conf when there is none.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
DATADIR    ?= $(PREFIX)/share/mtool
SYSCONFDIR ?= /etc/mtool
INSTALL    ?= install
# The applets the binary has (it is asked, so a profile's absent ones get no link). For a
# binary that cannot run here (cross builds), give them: make install APPLETS="proxyd ...".
APPLETS    ?= $(shell ./$(PROFILE_BIN) --list 2>/dev/null)

# page -> its source in docs/ (doveadm(1) is dovecot-core's name: ours is mtool-doveadm)
MAN_SRC.mtool.1         := docs/mtool.1.md
MAN_SRC.mtool.conf.5    := docs/mtool.conf.5.md
MAN_SRC.mtool-doveadm.1 := docs/doveadm.1.md
MAN_SRC.proxyd.8        := docs/proxyd.8.md
MAN_SRC.directord.8     := docs/directord.8.md
MAN_SRC.replicatord.8   := docs/replicatord.8.md
MAN_PAGES := $(patsubst MAN_SRC.%,%,$(filter MAN_SRC.%,$(.VARIABLES)))
MAN_OUT   := $(MAN_PAGES:%=$(BUILD)/man/%)

.PHONY: man man-lint install check-cross
man: $(MAN_OUT)

.SECONDEXPANSION:
$(BUILD)/man/%: $$(MAN_SRC.$$*) scripts/md2man.py
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/md2man.py $< $(basename $*) $(patsubst .%,%,$(suffix $*)) $@

# Both formatters, warnings included: any output is a failure.
man-lint: $(MAN_OUT)
	@sh scripts/deps.sh man
	@out=$$(for p in $(MAN_OUT); do mandoc -T lint -W warning $$p; \
		groff -man -ww -z $$p; done 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; echo "FAIL - man pages lint"; exit 1; fi; \
	echo "ok - man pages: mandoc -T lint and groff -man -ww -z are clean ($(words $(MAN_OUT)) pages)"

install: $(PROFILE_BIN) $(MAN_OUT)
	@[ -n "$(strip $(APPLETS))" ] || { echo "install: no applets (set APPLETS=)" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DATADIR) $(DESTDIR)$(SYSCONFDIR)
	$(INSTALL) -m 0755 $(PROFILE_BIN) $(DESTDIR)$(BINDIR)/mtool
	for a in $(APPLETS); do ln -sf mtool $(DESTDIR)$(BINDIR)/$$a; done
	for p in $(MAN_OUT); do n=$${p##*/}; a=$${n%.*}; a=$${a#mtool-}; s=$${p##*.}; \
		case " mtool mtool.conf $(APPLETS) " in *" $$a "*) ;; *) continue ;; esac; \
		$(INSTALL) -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/; done
	$(INSTALL) -m 0644 packaging/mtool.conf.example $(DESTDIR)$(DATADIR)/mtool.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/mtool.conf ] || \
		$(INSTALL) -m 0644 packaging/mtool.conf.example $(DESTDIR)$(SYSCONFDIR)/mtool.conf

# Unit tests of every cross target under qemu-user-static (slow: not part of make check).
check-cross:
	@sh scripts/cross.sh check $(CROSS_ARCHES)
