//! `client-supplied-user-id`: the caller says who they are in the arguments,
//! and the function believes them.

use crate::declare_rule;
use crate::finding::Label;
use crate::model::facts::Validator;
use crate::rule::{Context, Meta, Rule};

declare_rule!(
    ClientSuppliedUserId,
    "client-supplied-user-id",
    Error,
    "User id taken from the arguments instead of the authenticated caller"
);

impl Rule for ClientSuppliedUserId {
    fn meta(&self) -> &'static Meta {
        &Self::META
    }

    fn run(&self, cx: &mut Context<'_, '_>) {
        let owner_fields = &cx.analysis.known().owner_fields;
        for f in cx.functions {
            if !cx.analysis.decides_access_per_document(f) {
                continue;
            }
            let (Some(args), Some((hm, hix))) = (cx.analysis.args(f), f.handler()) else {
                continue;
            };
            let candidates: Vec<_> = args
                .validators
                .iter()
                .filter(|(name, v, _)| {
                    names_the_caller(name, v) || configured_owner(name, v, owner_fields)
                })
                .map(|(name, _, span)| (name.clone(), *span))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            // `addMember`, `inviteUser`, `assignTask`: the user id names another party.
            let name = f.name().to_ascii_lowercase();
            if [
                "member", "invite", "assign", "share", "transfer", "follow", "block", "ban",
            ]
            .iter()
            .any(|w| name.contains(w))
            {
                continue;
            }
            let caller_on_ctx = f.builder.authenticated;
            for u in cx
                .analysis
                .client_user_ids(hm, hix, &candidates, caller_on_ctx)
            {
                let what = if u.write {
                    "writes with"
                } else {
                    "scopes a read by"
                };
                let message = format!(
                    "public {} `{}` {what} `{}` from its arguments: any caller can claim to be any user",
                    f.kind, f.id(cx.analysis.project), u.arg
                );
                let mut labels = Vec::new();
                if hm == f.module() {
                    labels.push(Label {
                        span: u.span,
                        message: if u.write {
                            "written as the caller's id".into()
                        } else {
                            "used as the caller's id".into()
                        },
                    });
                }
                let help = "derive the user from the authenticated caller (`getAuthUserId(ctx)`, `ctx.auth.getUserIdentity()`, or the user your auth helper returns) and drop the argument, or compare it with the caller first";
                cx.report(f.module(), u.arg_span, message, labels, Some(f), help);
            }
        }
    }
}

/// A field the configuration names as holding the owner's id (`[ownership]
/// fields`), given as an id of any table or a string.
fn configured_owner(name: &str, validator: &Validator, fields: &[String]) -> bool {
    matches!(validator, Validator::Id(_) | Validator::String) && fields.iter().any(|f| f == name)
}

/// `userId`, `ownerId`, `authorId`, `createdBy`, ...: an argument that claims to
/// be the caller. Ids that name another party on purpose (`recipientId`,
/// `assigneeId`, `memberId`) do not match.
fn names_the_caller(name: &str, validator: &Validator) -> bool {
    let users_or_string = match validator {
        Validator::Id(table) => table == "users",
        Validator::String => true,
    };
    users_or_string
        && matches!(
            name,
            "userId"
                | "user_id"
                | "user"
                | "ownerId"
                | "owner_id"
                | "owner"
                | "authorId"
                | "author_id"
                | "author"
                | "createdBy"
                | "created_by"
                | "creatorId"
                | "uid"
                | "currentUserId"
                | "requesterId"
                | "actorId"
        )
}
